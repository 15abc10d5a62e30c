/**
 * ThingsBoard's rate limits as the local server enforces them, on the firmware's own RateWindows:
 * each window a bucket of capacity N, refilled greedily at N per S seconds, full at the start. A
 * message takes one token (messages, telemetryMessages) or one per data point
 * (telemetryDataPoints) from every window; when any window lacks them, the message is over the limit.
 */
import { parseRateSpec, RateWindows } from '../../../src/thingsboard/rate-windows';
import type { RateLimits } from './types';

export class RateLimitSpecError extends Error {}

/** The windows of a spec, or RateLimitSpecError naming the problem. "" is no limit (undefined). */
export function parseRateLimit(spec: string): { capacity: number; periodMs: number }[] | undefined {
  const windows = parseRateSpec(spec);
  if (typeof windows === 'string') throw new RateLimitSpecError(windows);
  return windows.length === 0 ? undefined : windows;
}

/** The server's limiter for one spec: buckets full at the start, as Bucket4j's. */
export function rateLimiter(spec: string, now: number): RateWindows {
  return new RateWindows(spec, parseRateLimit(spec) ?? [], now, true);
}

/** One session's limiters; a kind without a spec is unlimited. */
export class SessionLimiters {
  private readonly limiters: { [K in keyof RateLimits]?: RateWindows } = {};

  constructor(limits: RateLimits, now: number) {
    for (const kind of Object.keys(limits) as (keyof RateLimits)[]) {
      if (limits[kind] !== '') this.limiters[kind] = rateLimiter(limits[kind], now);
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
