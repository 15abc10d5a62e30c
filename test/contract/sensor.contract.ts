import { describe, expect, it } from 'vitest';
import type { Sensor } from '../../hal/types';
import { expectHalError } from './expect-hal-error';

export interface SensorHarness {
  open(): Sensor;
  /** Reading names every read() must return. */
  keys: string[];
  /** Lets `ms` pass (a fake clock in tests, a real wait on a board). */
  wait(ms: number): Promise<void> | void;
  /** Makes the chip stop answering, when the harness can (mock); absent on a board. */
  disconnect?: () => void;
}

/**
 * What every Sensor must do: the start / wait / read cycle gives finite numbers under the expected
 * names, misuse gives 'busy' or 'closed', a lost chip gives an error and never a number.
 */
export function runSensorContract(name: string, h: SensorHarness): void {
  describe('Sensor contract: ' + name, () => {
    it('reads finite numbers under the expected names after start() and conversionMs', async () => {
      const sensor = h.open();
      for (let round = 0; round < 3; round++) {
        sensor.start();
        await h.wait(sensor.conversionMs);
        const readings = sensor.read();
        expect(Object.keys(readings).sort()).toEqual(h.keys.slice().sort());
        for (const key of h.keys) expect(Number.isFinite(readings[key])).toBe(true);
      }
      sensor.close();
    });

    it("gives 'busy' when read() has no started measurement (unless conversion is instant)", async () => {
      const sensor = h.open();
      if (sensor.conversionMs > 0) {
        expectHalError('busy', () => sensor.read());
        sensor.start();
        await h.wait(sensor.conversionMs);
        sensor.read();
        expectHalError('busy', () => sensor.read()); // one result per start()
      }
      sensor.close();
    });

    it("throws 'no-device', never returns a number, when the chip stops answering", () => {
      if (!h.disconnect) return;
      const sensor = h.open();
      h.disconnect();
      expectHalError('no-device', () => sensor.start());
      expectHalError('busy', () => sensor.read());
      sensor.close();
    });

    it("throws 'closed' after close(), and close() twice is harmless", () => {
      const sensor = h.open();
      sensor.close();
      sensor.close();
      expectHalError('closed', () => sensor.start());
      expectHalError('closed', () => sensor.read());
    });
  });
}
