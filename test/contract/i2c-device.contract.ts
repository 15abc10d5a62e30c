import { describe, expect, it } from 'vitest';
import type { I2cDevice } from '../../hal/types';
import { hex2 } from '../../hal/types';
import { expectHalError } from './expect-hal-error';

export interface I2cHarness {
  open(address: number): I2cDevice;
  /** A chip on the bus and a register read that has a known answer (e.g. a chip id). */
  present: { address: number; register: number; expect: Uint8Array };
  /** An address where nothing answers. */
  absentAddress: number;
}

export function runI2cDeviceContract(name: string, h: I2cHarness): void {
  describe('I2cDevice contract: ' + name, () => {
    it('reads a register of a present chip', () => {
      const device = h.open(h.present.address);
      expect(device.address).toBe(h.present.address);
      device.write(Uint8Array.of(h.present.register), false);
      const data = device.read(h.present.expect.length);
      expect(data).toBeInstanceOf(Uint8Array);
      expect(Array.from(data)).toEqual(Array.from(h.present.expect));
      device.close();
    });

    it("reports an absent chip as 'no-device', naming the address", () => {
      const device = h.open(h.absentAddress);
      const error = expectHalError('no-device', () => device.write(Uint8Array.of(0)));
      expect(error.message).toContain(hex2(h.absentAddress));
      expectHalError('no-device', () => device.read(1));
      device.close();
    });

    it("throws 'closed' after close()", () => {
      const device = h.open(h.present.address);
      device.close();
      device.close();
      expectHalError('closed', () => device.write(Uint8Array.of(h.present.register)));
      expectHalError('closed', () => device.read(1));
    });
  });
}
