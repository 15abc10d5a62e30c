import { describe, expect, it } from 'vitest';
import type { PwmOutput } from '../../hal/types';
import { expectHalError } from './expect-hal-error';

export function runPwmOutputContract(name: string, open: (hz?: number) => PwmOutput): void {
  describe('PwmOutput contract: ' + name, () => {
    it('reports its resolution and frequency', () => {
      const pwm = open(5000);
      expect(Number.isInteger(pwm.resolution)).toBe(true);
      expect(pwm.resolution).toBeGreaterThanOrEqual(1);
      expect(pwm.hz).toBeGreaterThan(0);
      pwm.close();
    });

    it('takes every duty from 0 to 2^resolution - 1', () => {
      const pwm = open();
      const max = 2 ** pwm.resolution - 1;
      pwm.write(0);
      pwm.write(max >> 1);
      pwm.write(max);
      pwm.close();
    });

    it("refuses other duties with 'range'", () => {
      const pwm = open();
      const max = 2 ** pwm.resolution - 1;
      for (const bad of [-1, max + 1, 0.5, Number.NaN]) expectHalError('range', () => pwm.write(bad));
      pwm.close();
    });

    it("throws 'closed' after close(), and the pin can be opened again", () => {
      const pwm = open();
      pwm.close();
      pwm.close();
      expectHalError('closed', () => pwm.write(0));
      open().close();
    });
  });
}
