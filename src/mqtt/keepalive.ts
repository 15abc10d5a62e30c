import type { Clock, TimerHandle } from '../platform/clock';

export interface KeepaliveCallbacks {
  /** Time to send a PINGREQ. */
  ping(): void;
  /** Nothing arrived within 1.5 x keepalive: the link is dead or half-open. */
  timeout(): void;
}

/**
 * Keepalive and PINGRESP watchdog with one timer.
 *
 * A PINGREQ goes out when nothing was sent for K [MQTT-3.1.2-23], and also when nothing was
 * received for K: a device that only publishes QoS 0 sends all the time and would otherwise never
 * learn that the server stopped answering. Nothing received within 1.5 K means a dead link
 * (the server side's rule, [MQTT-3.1.2-24], applied to our side too).
 *
 * onSent/onReceived only store a time stamp; the single timer wakes at the earliest deadline and
 * re-arms, so a busy connection costs no timer churn.
 */
export class Keepalive {
  private timer: TimerHandle | undefined;
  private lastSent = 0;
  private lastReceived = 0;
  private lastPing = 0;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly keepaliveMs: number,
    private readonly callbacks: KeepaliveCallbacks,
  ) {}

  start(): void {
    if (this.keepaliveMs <= 0) return;
    const now = this.clock.now();
    this.lastSent = now;
    this.lastReceived = now;
    this.lastPing = now;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  onSent(): void {
    this.lastSent = this.clock.now();
  }

  onReceived(): void {
    this.lastReceived = this.clock.now();
  }

  private deadline(): number {
    return this.lastReceived + this.keepaliveMs * 1.5;
  }

  private nextPingAt(): number {
    return Math.min(this.lastSent + this.keepaliveMs, Math.max(this.lastReceived, this.lastPing) + this.keepaliveMs);
  }

  private arm(): void {
    const at = Math.min(this.deadline(), this.nextPingAt());
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    if (now >= this.deadline()) {
      this.running = false;
      this.callbacks.timeout();
      return;
    }
    if (now >= this.nextPingAt()) {
      this.lastPing = now;
      this.lastSent = now;
      this.callbacks.ping();
      if (!this.running) return; // ping() may have closed the connection
    }
    this.arm();
  }
}
