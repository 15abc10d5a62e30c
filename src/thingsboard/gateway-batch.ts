import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';
import { invalidArgument, TbError } from './errors';

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
  private parts_ = new Map<BatchOwner, string[]>();
  private chars_ = 2;
  /** Telemetry data points in the batch (for the server's telemetryDataPoints limit). */
  private points_ = 0;
  private promise_: Promise<void> | undefined;
  private settle_: ((error?: unknown) => void) | undefined;
  private timer_: TimerHandle | undefined;
  /** Counts sent batches; a scheduled flush for an older batch does nothing. */
  private epoch_ = 0;
  private scheduled_ = false;
  private readonly delayMs_: number;
  private readonly maxBytes_: number;

  constructor(
    private readonly kind_: 'telemetry' | 'attributes',
    private readonly clock_: Clock,
    options: GatewayBatchOptions,
    private readonly send_: (text: string, points: number) => Promise<void>,
    /** A cap below maxBytes that can change (the server's maxPayloadSize); 0 for none. */
    private readonly serverCap_: () => number = () => 0,
  ) {
    this.delayMs_ = options.delayMs ?? 0;
    this.maxBytes_ = options.maxBytes ?? 4096;
    if (!(this.delayMs_ >= 0) || !(this.maxBytes_ >= 64)) throw invalidArgument('batch delayMs must be >= 0 and maxBytes >= 64');
  }

  /** Entries waiting to be sent. */
  get size(): number {
    return this.parts_.size;
  }

  /**
   * Adds one child's entry. `fragment` is JSON without its outer brackets: telemetry entries
   * joined by commas (`{..},{..}`), attribute members (`"k":1,"j":2`).
   */
  add(owner: BatchOwner, fragment: string, points = 0): Promise<void> {
    const list = this.parts_.get(owner);
    const cost = fragment.length + (list ? 1 : owner.name.length + 8);
    const server = this.serverCap_();
    const max = server > 0 && server < this.maxBytes_ ? server : this.maxBytes_;
    if (this.parts_.size > 0 && this.chars_ + cost > max) this.flush();
    const current = this.parts_.get(owner);
    if (current) current.push(fragment);
    else this.parts_.set(owner, [fragment]);
    this.chars_ += cost;
    this.points_ += points;
    if (!this.promise_) {
      this.promise_ = new Promise<void>((resolve, reject) => {
        this.settle_ = (error) => (error === undefined ? resolve() : reject(error));
      });
    }
    const promise = this.promise_;
    if (this.chars_ >= max) this.flush();
    else this.schedule_();
    return promise;
  }

  /** Sends what was collected now. */
  flush(): void {
    this.unschedule_();
    if (this.parts_.size === 0) return;
    const open = this.kind_ === 'telemetry' ? ':[' : ':{';
    const close = this.kind_ === 'telemetry' ? ']' : '}';
    let text = '{';
    let first = true;
    for (const [owner, fragments] of this.parts_) {
      text += (first ? '' : ',') + JSON.stringify(owner.name) + open + fragments.join(',') + close;
      first = false;
    }
    text += '}';
    const settle = this.settle_ as (error?: unknown) => void;
    const points = this.points_;
    this.reset_();
    this.send_(text, points).then(
      () => settle(),
      (error: unknown) => settle(error === undefined ? new TbError('closed', 'batch not sent') : error),
    );
  }

  /** Drops what was collected; its callers get `error`. */
  close(error: TbError): void {
    this.unschedule_();
    const settle = this.settle_;
    this.reset_();
    if (settle) settle(error);
  }

  private reset_(): void {
    this.parts_ = new Map();
    this.chars_ = 2;
    this.points_ = 0;
    this.promise_ = undefined;
    this.settle_ = undefined;
    this.epoch_++;
  }

  private schedule_(): void {
    if (this.scheduled_) return;
    this.scheduled_ = true;
    const epoch = this.epoch_;
    if (this.delayMs_ > 0) {
      this.timer_ = this.clock_.setTimeout(() => {
        this.timer_ = undefined;
        if (this.epoch_ === epoch) this.flush();
      }, this.delayMs_);
    } else {
      Promise.resolve().then(() => {
        if (this.epoch_ === epoch) this.flush();
      });
    }
  }

  private unschedule_(): void {
    this.scheduled_ = false;
    this.timer_ = clearTimer(this.clock_, this.timer_);
  }
}
