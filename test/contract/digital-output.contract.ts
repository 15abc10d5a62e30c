import { describe, expect, it } from 'vitest';
import type { DigitalOutput, Level } from '../../hal/types';
import { expectHalError } from './expect-hal-error';

/**
 * What every DigitalOutput must do. `open` opens the same pin each time (the suite closes what it
 * opens), so it runs against the mock now and against ModdableIo on a board.
 */
export function runDigitalOutputContract(name: string, open: (initial?: Level) => DigitalOutput): void {
  describe('DigitalOutput contract: ' + name, () => {
    it('starts at the initial level, 0 by default', () => {
      const a = open();
      expect(a.read()).toBe(0);
      a.close();
      const b = open(1);
      expect(b.read()).toBe(1);
      b.close();
    });

    it('reads back the last level written', () => {
      const out = open();
      out.write(1);
      expect(out.read()).toBe(1);
      out.write(0);
      expect(out.read()).toBe(0);
      out.close();
    });

    it("refuses levels other than 0 and 1 with 'range' and keeps the old level", () => {
      const out = open(1);
      for (const bad of [2, -1, 0.5, true, '1']) expectHalError('range', () => out.write(bad as unknown as Level));
      expect(out.read()).toBe(1);
      out.close();
    });

    it("holds the pin: a second open fails with 'bad-config' until close()", () => {
      const out = open();
      expectHalError('bad-config', () => open());
      out.close();
      open().close();
    });

    it("throws 'closed' after close(), and close() twice is harmless", () => {
      const out = open();
      out.close();
      out.close();
      expectHalError('closed', () => out.write(1));
      expectHalError('closed', () => out.read());
    });
  });
}
