/**
 * ThingsBoard's rate limits as the local server enforces them: a spec "N:S,N:S" (at most N per S
 * seconds, each pair one window) becomes one token bucket per window, as ThingsBoard's Bucket4j
 * limits are: capacity N, refilled greedily at N per S seconds, full at the start. A message takes
 * one token (messages, telemetryMessages) or one per data point (telemetryDataPoints) from every
 * window; when any window lacks them, the message is over the limit.
 */
import type { RateLimits } from './types';

export class RateLimitSpecError extends Error {}

interface Bucket {
  capacity: number;
  periodMs: number;
  tokens: number;
  at: number;
}

/** Parses "10:1,300:60"; "" is no limit (undefined). Throws RateLimitSpecError naming the problem. */
export function parseRateLimit(spec: string): { capacity: number; periodMs: number }[] | undefined {
  const text = spec.trim();
  if (text === '') return undefined;
  return text.split(',').map((pair) => {
    const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(pair);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
      throw new RateLimitSpecError('rate limit "' + spec + '": each window is N:SECONDS with N and SECONDS >= 1, e.g. 10:1,300:60');
    }
    return { capacity: Number(m[1]), periodMs: Number(m[2]) * 1000 };
  });
}

export class RateLimiter {
  private readonly buckets: Bucket[];

  constructor(
    readonly spec: string,
    now: number,
  ) {
    this.buckets = (parseRateLimit(spec) ?? []).map((w) => ({ ...w, tokens: w.capacity, at: now }));
  }

  /** Takes `n` tokens from every window if all have them; false (nothing taken) when one has not. */
  tryTake(n: number, now: number): boolean {
    for (const b of this.buckets) {
      b.tokens = Math.min(b.capacity, b.tokens + ((now - b.at) * b.capacity) / b.periodMs);
      b.at = now;
    }
    if (!this.buckets.every((b) => b.tokens >= n)) return false;
    for (const b of this.buckets) b.tokens -= n;
    return true;
  }
}

/** One session's limiters; a kind without a spec is unlimited. */
export class SessionLimiters {
  private readonly limiters: { [K in keyof RateLimits]?: RateLimiter } = {};

  constructor(limits: RateLimits, now: number) {
    for (const kind of Object.keys(limits) as (keyof RateLimits)[]) {
      if (limits[kind] !== '') this.limiters[kind] = new RateLimiter(limits[kind], now);
    }
  }

  /**
   * Counts one uplink message (and, for telemetry, its data points) against the limits; returns the
   * kind that is exceeded, or undefined when the message is within all of them.
   */
  admit(telemetryDataPoints: number | undefined, now: number): keyof RateLimits | undefined {
    if (this.limiters.messages && !this.limiters.messages.tryTake(1, now)) return 'messages';
    if (telemetryDataPoints === undefined) return undefined;
    if (this.limiters.telemetryMessages && !this.limiters.telemetryMessages.tryTake(1, now)) return 'telemetryMessages';
    if (this.limiters.telemetryDataPoints && !this.limiters.telemetryDataPoints.tryTake(telemetryDataPoints, now)) return 'telemetryDataPoints';
    return undefined;
  }

  spec(kind: keyof RateLimits): string {
    return this.limiters[kind]?.spec ?? '';
  }
}
