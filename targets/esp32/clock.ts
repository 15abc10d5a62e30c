import type { Clock, TimerHandle } from '../../src/platform/clock';
import { describeError } from '../../src/platform/errors';
import type { Log } from '../../src/platform/log';

/**
 * Device time on the ESP32.
 *
 * The ESP32 has no battery-backed clock: at boot Date.now() counts from 1970. Moddable's
 * setup/network asks SNTP (manifest config `sntp`) and calls Time.set before main runs; when
 * that fails the firmware asks again in the background and tells this clock via setEpoch().
 *
 * now() never jumps: keepalive, backoff and the sampler measure elapsed time with it, and a jump
 * of 55 years would make the keepalive declare the link dead. Instead the clock keeps the offset
 * of every jump it made (or saw through setEpoch) and toEpoch(t) turns any now() value into epoch
 * milliseconds once the real time is known, also for readings taken before it was.
 * Telemetry asks toEpoch(); while it returns undefined, telemetry goes without "ts" and
 * ThingsBoard stamps it on arrival (see TimeAwareDevice).
 */

/** What the clock needs from the platform (Moddable: Date.now, Timer.set, Timer.clear, Time.set). */
export interface ClockHost {
  /** System time in ms (Date.now). */
  wallNow(): number;
  /** One-shot timer. */
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  /** Sets the system time (Moddable Time.set, seconds); absent: the system time is left alone. */
  setSystemTime?(epochMs: number): void;
}

/** 2020-09-13: any system time before this is "time since boot", not the real date. */
export const EPOCH_KNOWN_AFTER_MS = 1_600_000_000_000;

interface Handle {
  timer: unknown;
  done: boolean;
}

export class EpochClock implements Clock {
  /** now() = wallNow() - jumps: the sum of every step the system time made under us. */
  private jumps_ = 0;
  private last_ = 0;
  /** toEpoch(t) = t + epochOffset, once known. */
  private epochOffset_: number | undefined;
  private readonly listeners_: (() => void)[] = [];

  constructor(
    private readonly host_: ClockHost,
    private readonly log_?: Log,
  ) {
    const wall = host_.wallNow();
    if (wall >= EPOCH_KNOWN_AFTER_MS) this.epochOffset_ = 0;
    this.last_ = wall;
  }

  /** True once toEpoch() gives real dates. */
  get epochKnown(): boolean {
    return this.epochOffset_ !== undefined;
  }

  /** Monotonic milliseconds; epoch milliseconds when the time was known at start. */
  now(): number {
    const t = this.host_.wallNow() - this.jumps_;
    // Never backwards, even if something else steps the system clock back.
    if (t < this.last_) {
      this.jumps_ -= this.last_ - t;
      return this.last_;
    }
    this.last_ = t;
    return t;
  }

  /** Epoch milliseconds for a now() value, or undefined while the real time is unknown. */
  toEpoch(t: number): number | undefined {
    return this.epochOffset_ === undefined ? undefined : Math.round(t + this.epochOffset_);
  }

  /** The real time became known (SNTP): sets the system time if the host can, never moves now(). */
  setEpoch(epochMs: number): void {
    const before = this.now();
    if (this.host_.setSystemTime) {
      const wallBefore = this.host_.wallNow();
      this.host_.setSystemTime(epochMs);
      this.jumps_ += this.host_.wallNow() - wallBefore;
    }
    const first = this.epochOffset_ === undefined;
    this.epochOffset_ = epochMs - before;
    if (first) for (const listener of this.listeners_.splice(0)) listener();
  }

  /** Calls `listener` once when the epoch becomes known (at once if it is). */
  onEpochKnown(listener: () => void): void {
    if (this.epochKnown) listener();
    else this.listeners_.push(listener);
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle: Handle = { timer: undefined, done: false };
    handle.timer = this.host_.setTimer(
      () => {
        if (handle.done) return;
        handle.done = true;
        try {
          callback();
        } catch (error) {
          // An exception escaping a Moddable timer callback stops nothing but is lost in a
          // release build: say it.
          this.log_?.error('timer callback threw: ' + describeError(error));
        }
      },
      ms > 0 ? ms : 0,
    );
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    const h = handle as Handle | undefined;
    // A fired one-shot Moddable timer is gone: clearing it again must not reach Timer.clear.
    if (!h || h.done) return;
    h.done = true;
    this.host_.clearTimer(h.timer);
  }
}
