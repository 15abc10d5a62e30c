export interface BackoffOptions {
  /** First delay in ms. */
  initialMs: number;
  /** Cap in ms. */
  maxMs: number;
  /** Fraction of the delay that is random, 0..1 (0.5: between half and all of the step). */
  jitter: number;
}

/** The session's reconnect backoff when none is configured: 1 s doubling to 60 s, jitter 0.5. */
export const RECONNECT_DEFAULTS: Readonly<BackoffOptions> = Object.freeze({ initialMs: 1000, maxMs: 60_000, jitter: 0.5 });

/**
 * Exponential backoff with jitter and a cap: step n waits initial * 2^n (capped), less a random
 * share so that a fleet of devices does not reconnect in lockstep after a server restart.
 */
export class Backoff {
  private attempt_ = 0;

  constructor(
    private readonly options_: BackoffOptions,
    private readonly random_: () => number,
  ) {
    if (!(options_.initialMs > 0) || !(options_.maxMs >= options_.initialMs)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs, got ' + options_.initialMs + ' and ' + options_.maxMs);
    }
    if (!(options_.jitter >= 0 && options_.jitter <= 1)) throw new RangeError('backoff jitter must be within 0..1');
  }

  /** The upper bound of the next delay, before jitter. */
  currentStepMs(): number {
    // Shift stops growing once past the cap, so attempt counts can never overflow into NaN.
    const step = this.options_.initialMs * Math.pow(2, Math.min(this.attempt_, 30));
    return Math.min(step, this.options_.maxMs);
  }

  /** The delay before the next attempt; each call moves one step up. */
  next(): number {
    const step = this.currentStepMs();
    this.attempt_++;
    const delay = step - step * this.options_.jitter * this.random_();
    return Math.max(1, Math.round(delay));
  }

  reset(): void {
    this.attempt_ = 0;
  }

  get attempts(): number {
    return this.attempt_;
  }
}
