import type { Clock, TimerHandle } from '../platform/clock';
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
  private queue: T[] = [];
  private outstanding = 0;
  private generation = 0;
  private pumping = false;
  private retryTimer: TimerHandle | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly log: Log,
    private readonly window: number,
    private readonly retryMs: number,
    private readonly publish: AnnouncePublish<T>,
  ) {}

  /** True when nothing waits to be handed to the session. */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** A new connection: announce all of `items`, forgetting earlier progress. */
  restart(items: T[]): void {
    this.generation++;
    this.outstanding = 0;
    this.queue = items.slice();
    this.pump();
  }

  /** The connection dropped: nothing more goes out until restart(). */
  stop(): void {
    this.generation++;
    this.outstanding = 0;
    this.queue = [];
    this.clearRetry();
    this.notifyIdle();
  }

  add(item: T): void {
    if (this.queue.indexOf(item) < 0) this.queue.push(item);
    this.pump();
  }

  remove(item: T): void {
    const i = this.queue.indexOf(item);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.queue.length === 0) this.notifyIdle();
  }

  /** Calls `fn` once the queue is empty (at once when it already is). */
  whenIdle(fn: () => void): void {
    if (this.idle) fn();
    else this.idleWaiters.push(fn);
  }

  close(): void {
    this.stop();
    this.idleWaiters = [];
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.outstanding < this.window && this.queue.length > 0 && this.retryTimer === undefined) {
        const item = this.queue.shift() as T;
        const generation = this.generation;
        this.outstanding++;
        this.publish(item, (error) => this.completed(item, generation, error));
      }
    } finally {
      this.pumping = false;
    }
    if (this.queue.length === 0) this.notifyIdle();
  }

  private completed(item: T, generation: number, error: unknown): void {
    if (generation !== this.generation) return;
    this.outstanding--;
    if (error !== undefined) {
      if (retryable(error)) {
        this.queue.unshift(item);
        if (this.retryTimer === undefined) {
          this.retryTimer = this.clock.setTimeout(() => {
            this.retryTimer = undefined;
            this.pump();
          }, this.retryMs);
        }
      } else {
        this.log.error('child announcement not sent: ' + describeError(error));
      }
    }
    if (!this.pumping) this.pump();
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) {
      this.clock.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of waiters) fn();
  }
}
