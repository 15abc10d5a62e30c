import type { Clock, TimerHandle } from '../platform/clock';
import { TbError } from './errors';

export interface GatewayBatchOptions {
  /**
   * How long a batch collects before it is sent. 0 (default): until the current synchronous run
   * ends (a microtask), so children sending in one loop share one message.
   */
  delayMs?: number;
  /** A batch is sent early once its JSON would pass this many characters. Default 4096. */
  maxBytes?: number;
}

/** Who a batch entry belongs to: the name is read when the batch is sent, so a rename in between is followed. */
export interface BatchOwner {
  readonly name: string;
}

/**
 * Collects the telemetry (or the attributes) that children send on their own into one gateway
 * message `{"D1":[...],"D2":[...]}` (attributes: `{"D1":{...},...}`). Entries are kept as JSON
 * fragments, so a batch costs one string per send and one join when it goes out. Every caller of
 * one batch gets the same promise: it settles with that message's PUBACK.
 */
export class GatewayBatch {
  private parts = new Map<BatchOwner, string[]>();
  private chars = 2;
  private promise: Promise<void> | undefined;
  private settle: ((error?: unknown) => void) | undefined;
  private timer: TimerHandle | undefined;
  /** Counts sent batches; a scheduled flush for an older batch does nothing. */
  private epoch = 0;
  private scheduled = false;
  private readonly delayMs: number;
  private readonly maxBytes: number;

  constructor(
    private readonly kind: 'telemetry' | 'attributes',
    private readonly clock: Clock,
    options: GatewayBatchOptions,
    private readonly send: (text: string) => Promise<void>,
  ) {
    this.delayMs = options.delayMs ?? 0;
    this.maxBytes = options.maxBytes ?? 4096;
    if (!(this.delayMs >= 0) || !(this.maxBytes >= 64)) throw new TbError('invalid-argument', 'batch delayMs must be >= 0 and maxBytes >= 64');
  }

  /** Entries waiting to be sent. */
  get size(): number {
    return this.parts.size;
  }

  /**
   * Adds one child's entry. `fragment` is JSON without its outer brackets: telemetry entries
   * joined by commas (`{..},{..}`), attribute members (`"k":1,"j":2`).
   */
  add(owner: BatchOwner, fragment: string): Promise<void> {
    const list = this.parts.get(owner);
    const cost = fragment.length + (list ? 1 : owner.name.length + 8);
    if (this.parts.size > 0 && this.chars + cost > this.maxBytes) this.flush();
    const current = this.parts.get(owner);
    if (current) current.push(fragment);
    else this.parts.set(owner, [fragment]);
    this.chars += cost;
    if (!this.promise) {
      this.promise = new Promise<void>((resolve, reject) => {
        this.settle = (error) => (error === undefined ? resolve() : reject(error));
      });
    }
    const promise = this.promise;
    if (this.chars >= this.maxBytes) this.flush();
    else this.schedule();
    return promise;
  }

  /** Sends what was collected now. */
  flush(): void {
    this.unschedule();
    if (this.parts.size === 0) return;
    const open = this.kind === 'telemetry' ? ':[' : ':{';
    const close = this.kind === 'telemetry' ? ']' : '}';
    let text = '{';
    let first = true;
    for (const [owner, fragments] of this.parts) {
      text += (first ? '' : ',') + JSON.stringify(owner.name) + open + fragments.join(',') + close;
      first = false;
    }
    text += '}';
    const settle = this.settle as (error?: unknown) => void;
    this.reset();
    this.send(text).then(
      () => settle(),
      (error: unknown) => settle(error === undefined ? new TbError('closed', 'batch not sent') : error),
    );
  }

  /** Drops what was collected; its callers get `error`. */
  close(error: TbError): void {
    this.unschedule();
    const settle = this.settle;
    this.reset();
    if (settle) settle(error);
  }

  private reset(): void {
    this.parts = new Map();
    this.chars = 2;
    this.promise = undefined;
    this.settle = undefined;
    this.epoch++;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const epoch = this.epoch;
    if (this.delayMs > 0) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        if (this.epoch === epoch) this.flush();
      }, this.delayMs);
    } else {
      Promise.resolve().then(() => {
        if (this.epoch === epoch) this.flush();
      });
    }
  }

  private unschedule(): void {
    this.scheduled = false;
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
