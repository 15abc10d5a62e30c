/** Opaque handle returned by Clock.setTimeout. */
export type TimerHandle = unknown;

/**
 * Time for portable code. Targets wire the real one (Node timers, Moddable Timer);
 * tests use test/support/fake-clock.ts.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (used for telemetry timestamps and for elapsed time). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Clears `handle` when there is one and returns undefined, to store back in one statement:
 * `this.timer_ = clearTimer(this.clock_, this.timer_)`.
 */
export function clearTimer(clock: Clock, handle: TimerHandle | undefined): undefined {
  if (handle !== undefined) clock.clearTimeout(handle);
  return undefined;
}
