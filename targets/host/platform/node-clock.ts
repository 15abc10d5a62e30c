import type { Clock, TimerHandle } from '../../../src/platform/clock';

/** The real clock on Node. */
export const nodeClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
