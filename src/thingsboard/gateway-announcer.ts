import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';

/** Publishes one announcement and reports its PUBACK (or failure) through `done`. */
export type AnnouncePublish<T> = (item: T, done: (error?: unknown) => void) => void;

/** Refusals worth trying again (the session's outgoing queue was full). */
function retryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'queue-full';
}

/**
 * Sends the `v1/gateway/connect` announcements, a few at a time: after a reconnect every child must
 * be announced again, and 100 children published at once would overflow the session's bounded
 * queue. At most `window` announcements await their PUBACK; a refused one is retried after
 * `retryMs`. Data for children waits until every queued announcement was handed to the session
 * (`idle`), so a child's connect (and its device type) always reaches the server before its data.
 */
export class Announcer<T> {
  private queue_: T[] = [];
  private outstanding_ = 0;
  private generation_ = 0;
  private pumping_ = false;
  private retryTimer_: TimerHandle | undefined;
  private idleWaiters_: (() => void)[] = [];

  constructor(
    private readonly clock_: Clock,
    private readonly log_: Log,
    private readonly window_: number,
    private readonly retryMs_: number,
    private readonly publish_: AnnouncePublish<T>,
  ) {}

  /** True when nothing waits to be handed to the session. */
  get idle(): boolean {
    return this.queue_.length === 0;
  }

  get queued(): number {
    return this.queue_.length;
  }

  /** A new connection: announce all of `items`, forgetting earlier progress. */
  restart(items: T[]): void {
    this.generation_++;
    this.outstanding_ = 0;
    this.queue_ = items.slice();
    this.pump_();
  }

  /** The connection dropped: nothing more goes out until restart(). */
  stop(): void {
    this.generation_++;
    this.outstanding_ = 0;
    this.queue_ = [];
    this.clearRetry_();
    this.notifyIdle_();
  }

  add(item: T): void {
    if (this.queue_.indexOf(item) < 0) this.queue_.push(item);
    this.pump_();
  }

  remove(item: T): void {
    const i = this.queue_.indexOf(item);
    if (i >= 0) this.queue_.splice(i, 1);
    if (this.queue_.length === 0) this.notifyIdle_();
  }

  /** Calls `fn` once the queue is empty (at once when it already is). */
  whenIdle(fn: () => void): void {
    if (this.idle) fn();
    else this.idleWaiters_.push(fn);
  }

  close(): void {
    this.stop();
    this.idleWaiters_ = [];
  }

  private pump_(): void {
    if (this.pumping_) return;
    this.pumping_ = true;
    try {
      while (this.outstanding_ < this.window_ && this.queue_.length > 0 && this.retryTimer_ === undefined) {
        const item = this.queue_.shift() as T;
        const generation = this.generation_;
        this.outstanding_++;
        this.publish_(item, (error) => this.completed_(item, generation, error));
      }
    } finally {
      this.pumping_ = false;
    }
    if (this.queue_.length === 0) this.notifyIdle_();
  }

  private completed_(item: T, generation: number, error: unknown): void {
    if (generation !== this.generation_) return;
    this.outstanding_--;
    if (error !== undefined) {
      if (retryable(error)) {
        this.queue_.unshift(item);
        if (this.retryTimer_ === undefined) {
          this.retryTimer_ = this.clock_.setTimeout(() => {
            this.retryTimer_ = undefined;
            this.pump_();
          }, this.retryMs_);
        }
      } else {
        this.log_.error('child announcement not sent: ' + describeError(error));
      }
    }
    if (!this.pumping_) this.pump_();
  }

  private clearRetry_(): void {
    this.retryTimer_ = clearTimer(this.clock_, this.retryTimer_);
  }

  private notifyIdle_(): void {
    if (this.idleWaiters_.length === 0) return;
    const waiters = this.idleWaiters_;
    this.idleWaiters_ = [];
    for (const fn of waiters) fn();
  }
}
