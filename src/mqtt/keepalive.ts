import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';

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
  private timer_: TimerHandle | undefined;
  private lastSent_ = 0;
  private lastReceived_ = 0;
  private lastPing_ = 0;
  private running_ = false;

  constructor(
    private readonly clock_: Clock,
    private readonly keepaliveMs_: number,
    private readonly callbacks_: KeepaliveCallbacks,
  ) {}

  start(): void {
    if (this.keepaliveMs_ <= 0) return;
    const now = this.clock_.now();
    this.lastSent_ = now;
    this.lastReceived_ = now;
    this.lastPing_ = now;
    this.running_ = true;
    this.arm_();
  }

  stop(): void {
    this.running_ = false;
    this.timer_ = clearTimer(this.clock_, this.timer_);
  }

  /** Something was written; `now` when the caller has the time already (one clock read per flush). */
  onSent(now = this.clock_.now()): void {
    this.lastSent_ = now;
  }

  onReceived(): void {
    this.lastReceived_ = this.clock_.now();
  }

  private deadline_(): number {
    return this.lastReceived_ + this.keepaliveMs_ * 1.5;
  }

  private nextPingAt_(): number {
    return Math.min(this.lastSent_ + this.keepaliveMs_, Math.max(this.lastReceived_, this.lastPing_) + this.keepaliveMs_);
  }

  private arm_(): void {
    const at = Math.min(this.deadline_(), this.nextPingAt_());
    this.timer_ = this.clock_.setTimeout(() => this.fire_(), Math.max(0, at - this.clock_.now()));
  }

  private fire_(): void {
    this.timer_ = undefined;
    if (!this.running_) return;
    const now = this.clock_.now();
    if (now >= this.deadline_()) {
      this.running_ = false;
      this.callbacks_.timeout();
      return;
    }
    if (now >= this.nextPingAt_()) {
      this.lastPing_ = now;
      this.lastSent_ = now;
      this.callbacks_.ping();
      if (!this.running_) return; // ping() may have closed the connection
    }
    this.arm_();
  }
}
