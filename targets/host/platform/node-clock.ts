import type { Clock, TimerHandle } from '../../../src/platform/clock';

/** A Node timer that may be re-armed: clearTimeout() stops whichever one is current. */
interface NodeTimer {
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Node measures a timer from the event loop's cached time, not from the setTimeout() call, so a
 * timer set late in a loop turn can fire a few ms early by Date.now(). Code here compares against
 * now(): a sensor read 16 ms after start() found the simulated SHT3x (15.5 ms conversion) still
 * busy now and then (test/integration/app-firmware.test.ts). So a timer that fires before its due
 * time by now() waits out the rest: the Clock's "at least ms later" holds.
 */
function arm(handle: NodeTimer, callback: () => void, due: number, ms: number): void {
  handle.timer = setTimeout(() => {
    const early = due - Date.now();
    if (early > 0) arm(handle, callback, due, early);
    else {
      handle.timer = undefined;
      callback();
    }
  }, ms);
}

/** The real clock on Node. */
export const nodeClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => {
    const wait = ms > 0 ? ms : 0;
    const handle: NodeTimer = { timer: undefined };
    arm(handle, callback, Date.now() + wait, wait);
    return handle;
  },
  clearTimeout: (handle: TimerHandle) => {
    const h = handle as NodeTimer | undefined;
    if (h && h.timer !== undefined) {
      clearTimeout(h.timer);
      h.timer = undefined;
    }
  },
};
