import { describe, expect, it } from 'vitest';
import type { DigitalInput, DigitalInputMode, EdgeMask, Level } from '../../hal/types';
import { Edge } from '../../hal/types';
import { expectHalError } from './expect-hal-error';

export interface DigitalInputHarness {
  /** Opens the input under test (same pin each time). */
  open(mode: DigitalInputMode, edge?: EdgeMask, onEdge?: (level: Level) => void): DigitalInput;
  /** Drives the input's wire: the mock's setLevel, or a loopback output on a board. */
  drive(level: Level): void;
  /** Lets pending edge callbacks run (interrupts are delivered later on a device). */
  settle(): Promise<void>;
}

export function runDigitalInputContract(name: string, h: DigitalInputHarness): void {
  describe('DigitalInput contract: ' + name, () => {
    it('reads the driven level', () => {
      const input = h.open('input');
      h.drive(1);
      expect(input.read()).toBe(1);
      h.drive(0);
      expect(input.read()).toBe(0);
      input.close();
    });

    const cases: [string, EdgeMask, Level[]][] = [
      ['rising', Edge.Rising, [1, 1]],
      ['falling', Edge.Falling, [0, 0]],
      ['both', Edge.Both, [1, 0, 1, 0]],
    ];
    for (const [label, edge, expected] of cases) {
      it('calls back on ' + label + ' edges only, with the level', async () => {
        h.drive(0);
        const seen: Level[] = [];
        const input = h.open('input', edge, (level) => seen.push(level));
        await h.settle();
        for (const level of [1, 0, 1, 0] as Level[]) {
          h.drive(level);
          await h.settle();
        }
        expect(seen).toEqual(expected);
        input.close();
      });
    }

    it('does not call back for a level that does not change', async () => {
      h.drive(1);
      const seen: Level[] = [];
      const input = h.open('input', Edge.Both, (level) => seen.push(level));
      h.drive(1);
      await h.settle();
      expect(seen).toEqual([]);
      input.close();
    });

    it("is silent after close() and throws 'closed' on read", async () => {
      h.drive(0);
      const seen: Level[] = [];
      const input = h.open('input', Edge.Both, (level) => seen.push(level));
      input.close();
      input.close();
      h.drive(1);
      await h.settle();
      expect(seen).toEqual([]);
      expectHalError('closed', () => input.read());
    });
  });
}
