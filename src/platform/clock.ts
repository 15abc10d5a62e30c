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
