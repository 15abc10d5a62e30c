import { describe, expect, it } from 'vitest';
import type { AnalogInput } from '../../hal/types';
import { expectHalError } from './expect-hal-error';

export function runAnalogInputContract(name: string, open: () => AnalogInput): void {
  describe('AnalogInput contract: ' + name, () => {
    it('has an integer resolution of 1..16 bits and reads integers within it', () => {
      const input = open();
      expect(Number.isInteger(input.resolution)).toBe(true);
      expect(input.resolution).toBeGreaterThanOrEqual(1);
      expect(input.resolution).toBeLessThanOrEqual(16);
      const max = 2 ** input.resolution - 1;
      for (let i = 0; i < 20; i++) {
        const value = input.read();
        expect(Number.isInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(max);
      }
      input.close();
    });

    it("throws 'closed' after close(), and the pin can be opened again", () => {
      const input = open();
      input.close();
      input.close();
      expectHalError('closed', () => input.read());
      open().close();
    });
  });
}
