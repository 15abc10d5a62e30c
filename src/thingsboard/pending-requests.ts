import type { Clock, TimerHandle } from '../platform/clock';
import { invalidArgument, TbError } from './errors';

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: TbError) => void;
  timer: TimerHandle | undefined;
}

/**
 * Requests waiting for a response matched by id: attribute requests, client-side RPC, gateway
 * attribute requests. Ids are non-negative 31-bit integers, unique among pending requests; each
 * request fails with 'timeout' when its time passes, so nothing waits forever. Bounded.
 */
export class PendingRequests<T> {
  private readonly pending_ = new Map<number, Pending<T>>();
  private nextId_ = 0;

  constructor(
    private readonly clock_: Clock,
    private readonly max_: number,
    private readonly what_: string,
  ) {}

  /**
   * Registers a request: its id and the promise of its answer, or a rejected promise when too many
   * are pending or the timeout is bad (then `id` is -1). The caller sends the request itself after
   * this returned (not from a callback in here: that would stack under the send on a device's
   * small XS stack), and calls fail(id, ...) if it could not be sent.
   */
  open(timeoutMs: number): { id: number; promise: Promise<T> } {
    if (this.pending_.size >= this.max_) {
      return { id: -1, promise: Promise.reject(new TbError('too-many-pending', this.max_ + ' ' + this.what_ + 's are already waiting for an answer')) };
    }
    if (!(timeoutMs > 0)) return { id: -1, promise: Promise.reject(invalidArgument(this.what_ + ' timeout must be > 0 ms')) };
    const id = this.allocate_();
    let pending!: Pending<T>;
    const promise = new Promise<T>((resolve, reject) => {
      pending = { resolve, reject, timer: undefined };
    });
    pending.timer = this.clock_.setTimeout(() => {
      if (!this.pending_.delete(id)) return;
      pending.reject(new TbError('timeout', 'no answer to ' + this.what_ + ' ' + id + ' within ' + timeoutMs + ' ms'));
    }, timeoutMs);
    this.pending_.set(id, pending);
    return { id, promise };
  }

  /** True when a request with this id waits. */
  has(id: number): boolean {
    return this.pending_.has(id);
  }

  resolve(id: number, value: T): boolean {
    const p = this.take_(id);
    if (p) p.resolve(value);
    return !!p;
  }

  fail(id: number, error: TbError): boolean {
    const p = this.take_(id);
    if (p) p.reject(error);
    return !!p;
  }

  failAll(error: TbError): void {
    for (const id of Array.from(this.pending_.keys())) this.fail(id, error);
  }

  get size(): number {
    return this.pending_.size;
  }

  private take_(id: number): Pending<T> | undefined {
    const p = this.pending_.get(id);
    if (!p) return undefined;
    this.pending_.delete(id);
    this.clock_.clearTimeout(p.timer);
    return p;
  }

  private allocate_(): number {
    for (;;) {
      const id = this.nextId_;
      this.nextId_ = id >= 0x7fffffff ? 0 : id + 1;
      if (!this.pending_.has(id)) return id;
    }
  }
}
