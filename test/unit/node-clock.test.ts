import { describe, expect, it } from 'vitest';
import { nodeClock } from '../../targets/host/platform/node-clock';

/** Work in the current loop turn: Node then measures a new timer from the turn's stale start. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe('nodeClock', () => {
  it('never fires a timer before its time by now()', async () => {
    // Node's timers run on the monotonic clock in whole ms, now() is Date.now(): a bare setTimeout
    // fired early by now() 1 to 5 times in 300 here, enough to find a simulated sensor still busy.
    let early = 0;
    for (let i = 0; i < 400; i++) {
      const ms = 1 + (i % 3);
      const start = nodeClock.now();
      const fired = await new Promise<number>((resolve) => nodeClock.setTimeout(() => resolve(nodeClock.now()), ms));
      if (fired - start < ms) early++;
      busy(i % 2); // move the call around within the millisecond
    }
    expect(early).toBe(0);
  });

  it('clearTimeout stops a timer', async () => {
    let calls = 0;
    const handle = nodeClock.setTimeout(() => calls++, 30);
    await new Promise((r) => setTimeout(r, 5));
    nodeClock.clearTimeout(handle);
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(0);
    nodeClock.clearTimeout(handle); // twice is harmless
  });

  it('runs a 0 ms and a negative timer soon', async () => {
    const order: string[] = [];
    nodeClock.setTimeout(() => order.push('zero'), 0);
    nodeClock.setTimeout(() => order.push('negative'), -5);
    await new Promise((r) => setTimeout(r, 20));
    expect(order.sort()).toEqual(['negative', 'zero']);
  });
});
