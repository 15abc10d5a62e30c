import type { Log } from '../platform/log';
import type { PublishPacer } from '../mqtt/pacer';
import { TbError } from './errors';
import { isObject, type JsonObject } from './json';
import { parseRateSpec, RateWindows } from './rate-windows';
import type { JsonValue } from '../platform/store';
import { utf8Encode } from '../platform/utf8';

/**
 * PublishOptions.pace as SessionLimits reads it: 0 an ordinary message, n >= 1 a telemetry message
 * of n data points (1 when data points are not limited), PACE_CONTROL the getSessionLimits request.
 */
export const PACE_CONTROL = -1;

/** The device's periods are this much longer than the server's: jitter on the way cannot bunch messages over its rate. */
const STRETCH = 1.1;

/** Fixed header (5 at most), topic length (2), packet id (2): what a QoS 1 PUBLISH adds to topic and payload. */
const PUBLISH_OVERHEAD = 9;

type Kind = 'messages' | 'telemetryMessages' | 'telemetryDataPoints';
const KINDS: readonly Kind[] = Object.freeze(['messages', 'telemetryMessages', 'telemetryDataPoints'] as Kind[]);

/**
 * What ThingsBoard's client-side RPC getSessionLimits reported, obeyed: payloads over
 * maxPayloadSize are refused at once (payloadProblem), the in-flight window is capped
 * (maxInflight, applied by the client), and every rate window is held by a local token bucket
 * that delays publishes (the session keeps them queued) rather than dropping them, with one log
 * line per window period.
 *
 * Until the first answer the pacer holds every publish but the request itself, up to `holdMs`
 * after a CONNACK: an offline queue replayed at full speed is exactly the burst that trips a
 * limit. After a timeout or an unsupported answer, safe defaults hold (no rate limits, the
 * session's own caps) and later connections are not held. The buckets outlive reconnects
 * (ThingsBoard's count does too) and start empty, since the server may have counted already.
 */
export class SessionLimits implements PublishPacer {
  /** The server's maxPayloadSize; 0 when none is known. */
  maxPayloadSize = 0;
  /** The server's maxInflightMessages; 0 when none is known. */
  maxInflight = 0;
  private readonly log_: Log;
  private readonly holdMs_: number;
  private readonly gateway_: boolean;
  private messages_: RateWindows | undefined = undefined;
  private telemetry_: RateWindows | undefined = undefined;
  private points_: RateWindows | undefined = undefined;
  private holdUntil_ = 0;
  /** An answer arrived, or asking failed once: connections are no longer held for it. */
  private settled_ = false;

  constructor(log: Log, holdMs: number, gateway: boolean) {
    this.log_ = log;
    this.holdMs_ = holdMs;
    this.gateway_ = gateway;
  }

  /** Some rate window is set: the session needs the pacer. */
  get pacing(): boolean {
    return this.messages_ !== undefined || this.telemetry_ !== undefined || this.points_ !== undefined;
  }

  /** Whether publishes are held for the first answer right now. */
  get holding(): boolean {
    return this.holdUntil_ > 0;
  }

  /** Data points are limited: telemetry publishes need their count as pace. */
  get countsPoints(): boolean {
    return this.points_ !== undefined;
  }

  connected(now: number): void {
    if (!this.settled_) this.holdUntil_ = now + this.holdMs_;
  }

  delayMs(pace: number, now: number): number {
    const messages = this.messages_;
    if (this.holdUntil_ > now) {
      if (pace !== PACE_CONTROL) return this.holdUntil_ - now;
      // The request the hold waits for goes now: without its answer nothing is known.
      if (messages) messages.take(1);
      return 0;
    }
    if (pace === PACE_CONTROL) pace = 0; // limits known: an ordinary message
    const telemetry = pace > 0 ? this.telemetry_ : undefined;
    const points = pace > 0 ? this.points_ : undefined;
    let wait = 0;
    let over: RateWindows | undefined;
    let n = 1;
    if (messages) {
      wait = messages.waitMs(1, now);
      if (wait > 0) over = messages;
    }
    if (telemetry) {
      const w = telemetry.waitMs(1, now);
      if (w > wait) (wait = w), (over = telemetry);
    }
    if (points) {
      const w = points.waitMs(pace, now);
      if (w > wait) (wait = w), (over = points), (n = pace);
    }
    if (wait > 0) {
      if (wait !== Infinity && over && over.noteWait(n, now)) {
        this.log_.info('rate limit ' + this.kindOf_(over) + ' "' + over.spec + '" reached: publishes wait (' + wait + ' ms now; said once a minute at most)');
      }
      return wait;
    }
    if (messages) messages.take(1);
    if (telemetry) telemetry.take(1);
    if (points) points.take(pace);
    return 0;
  }

  /**
   * Applies a getSessionLimits answer; returns why it cannot be used (then nothing changes and the
   * hold ends), or undefined. A gateway is held to gatewayRateLimits when the server sets any, as
   * its whole uplink (children included) counts there; else to rateLimits.
   */
  apply(answer: JsonValue, now: number): string | undefined {
    this.holdUntil_ = 0;
    this.settled_ = true;
    if (!isObject(answer) || answer.error !== undefined || !isObject(answer.rateLimits)) {
      return 'getSessionLimits answer is not {"maxPayloadSize","maxInflightMessages","rateLimits":{..}}';
    }
    this.maxPayloadSize = positiveInteger(answer.maxPayloadSize);
    this.maxInflight = positiveInteger(answer.maxInflightMessages);
    let rates = answer.rateLimits as JsonObject;
    if (this.gateway_ && isObject(answer.gatewayRateLimits) && anySet(answer.gatewayRateLimits)) rates = answer.gatewayRateLimits;
    const problems: string[] = [];
    this.messages_ = this.windows_(this.messages_, rates.messages, now, problems);
    this.telemetry_ = this.windows_(this.telemetry_, rates.telemetryMessages, now, problems);
    this.points_ = this.windows_(this.points_, rates.telemetryDataPoints, now, problems);
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  /** Asking failed (timeout, refused): the hold ends, nothing else changes. */
  giveUp(): void {
    this.holdUntil_ = 0;
    this.settled_ = true;
  }

  /**
   * A refusal for a publish over maxPayloadSize, or undefined. The cheap bound decides most
   * payloads without counting UTF-8 bytes (up to 3 per UTF-16 unit).
   */
  payloadProblem(topic: string, text: string): TbError | undefined {
    const max = this.maxPayloadSize;
    if (max === 0 || (topic.length + text.length) * 3 + PUBLISH_OVERHEAD <= max) return undefined;
    // The native encoder counts, never a charCodeAt loop (quadratic on XS, whose strings are UTF-8).
    const size = utf8Encode(topic).length + utf8Encode(text).length + PUBLISH_OVERHEAD;
    if (size <= max) return undefined;
    return new TbError(
      'payload-too-large',
      'message to ' + topic + ' is ' + size + ' bytes on the wire, over the server\'s maxPayloadSize of ' + max + ': send less per message',
    );
  }

  /** Keeps the current buckets when the spec is unchanged (their count goes on). */
  private windows_(current: RateWindows | undefined, spec: JsonValue | undefined, now: number, problems: string[]): RateWindows | undefined {
    if (typeof spec !== 'string' || spec.trim() === '') return undefined;
    if (current && current.spec === spec) return current;
    const windows = parseRateSpec(spec);
    if (typeof windows === 'string') {
      problems.push(windows + ' (ignored)');
      return undefined;
    }
    return new RateWindows(spec, windows, now, false, STRETCH);
  }

  private kindOf_(w: RateWindows): Kind {
    return w === this.messages_ ? KINDS[0] : w === this.telemetry_ ? KINDS[1] : KINDS[2];
  }
}

function positiveInteger(value: JsonValue | undefined): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0;
}

function anySet(rates: JsonObject): boolean {
  for (let i = 0; i < KINDS.length; i++) {
    const spec = rates[KINDS[i]];
    if (typeof spec === 'string' && spec.trim() !== '') return true;
  }
  return false;
}
