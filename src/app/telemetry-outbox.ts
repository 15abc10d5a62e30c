import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import type { JsonValue, Store } from '../platform/store';
import { MqttError } from '../mqtt/errors';
import type { JsonObject } from '../thingsboard/json';
import type { TbDevice } from '../thingsboard/tb-device';

export interface TelemetryOutboxOptions {
  store: Store;
  clock: Clock;
  log: Log;
  device: TbDevice;
  /** Records in the ring (Store keys `ob0`..). Default 16. */
  records?: number;
  /** Readings per record, and per message. Default 16. */
  perRecord?: number;
  /**
   * A reading still unacknowledged this long after it was accepted is written to the Store (with
   * every other waiting one, as one record); acknowledged sooner, it never touches flash. Also
   * the period of the outbox's writes: at most one batch of writes per period. Default 10 s.
   */
  writeAfterMs?: number;
  /** Wait before a message the session refused is tried again. Default 2 s. */
  retryMs?: number;
  /**
   * Epoch milliseconds for a reading's clock time stamp, undefined while the date is unknown
   * (targets whose clock counts from boot until SNTP answered). Kept readings must carry real
   * dates: a time since boot means nothing after a reset. Unknown: kept without one, and the
   * server stamps it on arrival. Default: the clock's times are epoch times already.
   */
  toEpoch?: (t: number) => number | undefined;
}

/** [ts, values]: a reading as a record keeps it. */
type Reading = [number, JsonObject];

/** A record in the Store, not yet wholly acknowledged. */
interface RecordMeta {
  seq: number;
  key: string;
  count: number;
  /** Readings at its start already acknowledged (rewritten without them by the next write pass). */
  done: number;
  /** JSON characters of its readings (about): a record stays under MAX_RECORD_CHARS. */
  chars: number;
  /** Its readings, when writing them to the Store failed: kept in memory instead. */
  memory?: Reading[];
}

/** JSON text one record may take (Moddable's Preference keeps strings up to 4,000 bytes on ESP32). */
const MAX_RECORD_CHARS = 3500;
const KEY_PREFIX = 'ob';

/**
 * Store-and-forward for telemetry: every reading is held from acceptance until its PUBACK, and
 * one unacknowledged for `writeAfterMs` is written to the Store, so a reset loses nothing that
 * was accepted (the Store write is what "accepted" means for a reading accepted while offline:
 * a reset within writeAfterMs of acceptance loses the readings not yet written).
 *
 * - Order: records from before a restart first (oldest first, original `ts`), then new readings.
 * - One message in flight at a time: the rest of the oldest record, or the waiting new readings
 *   (up to perRecord), as one `[{ts, values}, ...]` telemetry message.
 * - Flash writes (ESP32 write endurance): a ring of `records` keys, whole batches per write, at
 *   most one write pass per writeAfterMs: a record per batch of waiting readings, plus a delete
 *   (or a rewrite) per record the server acknowledged. Online, with PUBACKs in time, nothing is
 *   written at all.
 * - Full (every record used, the open batch full): new readings are refused with 'queue-full'.
 * - A record that does not read back as one (corrupt, foreign) is deleted with a log line.
 * - Duplicates: only the readings of a message whose PUBACK was lost, or those acknowledged in
 *   the last write period before a reset, and always with their original `ts` (ThingsBoard keeps
 *   one value per key and ts, so a duplicate rewrites the same point).
 */
export class TelemetryOutbox {
  private readonly store_: Store;
  private readonly clock_: Clock;
  private readonly log_: Log;
  private readonly device_: TbDevice;
  private readonly records_: number;
  private readonly perRecord_: number;
  private readonly writeAfterMs_: number;
  private readonly retryMs_: number;
  private readonly toEpoch_: ((t: number) => number | undefined) | undefined;
  /** Records in the Store, oldest first. */
  private readonly stored_: RecordMeta[] = [];
  /** Accepted readings not in the Store, oldest first, with when each was accepted. */
  private readonly open_: Reading[] = [];
  /** JSON characters of each open reading, and their sum: records stay under MAX_RECORD_CHARS. */
  private readonly openSizes_: number[] = [];
  private openChars_ = 0;
  private openSince_ = 0;
  /** The readings of stored_[0], read once for sending. */
  private cache_: { seq: number; readings: Reading[] } | undefined;
  /** The message in flight: how many readings, and the record they are the start of (undefined: open_'s start). */
  private inflight_: { count: number; record: RecordMeta | undefined } | undefined;
  /** Readings per message: perRecord, less after a message was over the server's rate limit. */
  private chunk_: number;
  private nextSeq_ = 1;
  private nextIndex_ = 0;
  private writeTimer_: TimerHandle | undefined;
  private retryTimer_: TimerHandle | undefined;
  private fullNoted_ = false;
  private state_: 'new' | 'running' | 'closed' = 'new';
  /** Writes to the Store so far (sets and deletes), for tests and the README's figures. */
  writes = 0;

  constructor(options: TelemetryOutboxOptions) {
    this.store_ = options.store;
    this.clock_ = options.clock;
    this.log_ = options.log;
    this.device_ = options.device;
    this.records_ = options.records ?? 16;
    this.perRecord_ = options.perRecord ?? 16;
    this.writeAfterMs_ = options.writeAfterMs ?? 10_000;
    this.retryMs_ = options.retryMs ?? 2000;
    this.toEpoch_ = options.toEpoch;
    this.chunk_ = this.perRecord_;
    if (!isCount(this.records_, 1, 64)) throw new RangeError('outbox records must be an integer 1..64');
    if (!isCount(this.perRecord_, 1, 64)) throw new RangeError('outbox perRecord must be an integer 1..64');
    if (!(this.writeAfterMs_ >= 100) || !(this.retryMs_ >= 10)) throw new RangeError('outbox writeAfterMs must be >= 100 and retryMs >= 10');
  }

  /** Readings held (stored and not), for tests and diagnostics. */
  get size(): number {
    let n = this.open_.length;
    for (let i = 0; i < this.stored_.length; i++) n += this.stored_[i].count - this.stored_[i].done;
    return n;
  }

  /** Reads the records a previous run left, and starts sending them. */
  start(): void {
    if (this.state_ !== 'new') return;
    this.state_ = 'running';
    for (let i = 0; i < this.records_; i++) this.load_(i);
    this.stored_.sort((a, b) => a.seq - b.seq);
    if (this.stored_.length > 0) {
      this.nextSeq_ = this.stored_[this.stored_.length - 1].seq + 1;
      this.log_.info('outbox: ' + this.size + ' readings from before the restart in ' + this.stored_.length + ' records, sent first');
    }
    this.sendNext_();
  }

  /**
   * Takes a reading; returns why it cannot (a full outbox: MqttError 'queue-full', the policy of
   * the session's own queue), or undefined.
   */
  accept(ts: number, values: JsonObject): MqttError | undefined {
    if (this.state_ !== 'running') return new MqttError('closed', 'the telemetry outbox is not running');
    // Only what the ring can still hold: a reading kept in memory past that would be lost by a reset.
    if (this.room_() <= 0) return this.full_();
    const chars = JSON.stringify(values).length + 20;
    if (this.open_.length >= this.perRecord_ || this.openChars_ + chars > MAX_RECORD_CHARS) {
      // The open batch is full: into the Store with it now, if there is room.
      if (!this.storeOpen_()) return this.full_();
    }
    if (this.open_.length === 0) this.openSince_ = this.clock_.now();
    // 0: no date known (sent without "ts").
    const epoch = this.toEpoch_ ? this.toEpoch_(ts) ?? 0 : ts;
    this.open_.push([epoch, values]);
    this.openSizes_.push(chars);
    this.openChars_ += chars;
    this.fullNoted_ = false;
    this.armWrite_();
    if (!this.inflight_) this.sendNext_();
    return undefined;
  }

  /** Stops sending and writing; what is held stays in the Store for the next start (open readings are written now). */
  close(): void {
    if (this.state_ === 'closed') return;
    const running = this.state_ === 'running';
    this.state_ = 'closed';
    this.writeTimer_ = clearTimer(this.clock_, this.writeTimer_);
    this.retryTimer_ = clearTimer(this.clock_, this.retryTimer_);
    if (running) this.writePass_(true);
  }

  // ---- sending ----

  private sendNext_(): void {
    if (this.state_ !== 'running' || this.inflight_ || this.retryTimer_ !== undefined) return;
    let readings: Reading[];
    let record: RecordMeta | undefined;
    if (this.stored_.length > 0) {
      record = this.stored_[0];
      const cached = this.readingsOf_(record);
      if (!cached) return this.sendNext_(); // corrupt: dropped, try the next
      readings = cached.slice(record.done, record.done + this.chunk_);
    } else if (this.open_.length > 0) {
      readings = this.open_.slice(0, Math.min(this.chunkLength_(), this.chunk_));
    } else return;
    const count = readings.length;
    this.inflight_ = { count, record };
    const body = new Array(count);
    for (let i = 0; i < count; i++) body[i] = readings[i][0] > 0 ? { ts: readings[i][0], values: readings[i][1] } : readings[i][1];
    this.device_.sendTelemetry(body).then(
      () => this.acked_(),
      (error: unknown) => this.refused_(error),
    );
  }

  private acked_(): void {
    const inflight = this.inflight_;
    this.inflight_ = undefined;
    if (!inflight || this.state_ === 'closed') return;
    this.consume_(inflight.record, inflight.count);
    this.sendNext_();
  }

  /** The first `n` readings still held (of `record`, or of the open ones) are done with. */
  private consume_(record: RecordMeta | undefined, n: number): void {
    if (record) {
      record.done += n;
      if (record.done >= record.count) this.dropRecord_(record);
      else this.armWrite_(); // rewritten without the acknowledged start
    } else {
      this.takeOpen_(n);
      if (this.open_.length > 0) this.openSince_ = this.clock_.now();
    }
  }

  private refused_(error: unknown): void {
    const inflight = this.inflight_;
    this.inflight_ = undefined;
    if (this.state_ !== 'running') return;
    if (error instanceof MqttError && error.code === 'closed') return;
    if (inflight && error instanceof MqttError && error.code === 'over-limit') {
      // More data points than the server's limit ever allows in one message: smaller messages,
      // down to one reading; a single reading that still does not fit can never be sent.
      if (inflight.count > 1) {
        this.chunk_ = inflight.count >> 1;
        this.log_.warn('outbox: ' + inflight.count + ' readings are over the server\'s rate limit in one message; sending ' + this.chunk_ + ' at a time');
      } else {
        this.log_.error('outbox: a reading is over the server\'s rate limit on its own (' + describeError(error) + '); dropped');
        this.consume_(inflight.record, 1);
      }
      return this.sendNext_();
    }
    this.log_.warn('outbox: telemetry not sent, again in ' + this.retryMs_ + ' ms: ' + describeError(error));
    this.retryTimer_ = this.clock_.setTimeout(() => {
      this.retryTimer_ = undefined;
      this.sendNext_();
    }, this.retryMs_);
  }

  // ---- the Store ----

  private armWrite_(): void {
    if (this.writeTimer_ !== undefined || this.state_ !== 'running') return;
    this.writeTimer_ = this.clock_.setTimeout(() => {
      this.writeTimer_ = undefined;
      this.writePass_(false);
    }, this.writeAfterMs_);
  }

  /**
   * One pass of writes: records partly acknowledged are rewritten without their acknowledged
   * start, and the open readings go into a record once the oldest has waited writeAfterMs (or at
   * once on close). Re-armed while something is left to write.
   */
  private writePass_(all: boolean): void {
    for (let i = 0; i < this.stored_.length; i++) {
      const r = this.stored_[i];
      if (r.done === 0 || r === this.inflight_?.record) continue;
      const readings = this.readingsOf_(r);
      if (!readings) {
        i--;
        continue;
      }
      const rest = readings.slice(r.done);
      r.count = rest.length;
      r.done = 0;
      r.chars = JSON.stringify(rest).length;
      this.put_(r, rest);
    }
    if (this.open_.length > 0 && (all || this.clock_.now() - this.openSince_ >= this.writeAfterMs_)) {
      while (this.open_.length > 0 && this.storeOpen_());
      if (this.open_.length > 0) this.full_();
    }
    if (this.open_.length > 0 && this.state_ === 'running') this.armWrite_();
  }

  /**
   * Moves open readings into the Store: onto the newest record while it has room (records fill
   * up, so the ring holds records x perRecord readings however often a pass writes), else into a
   * new record. False when there is no room at all.
   */
  private storeOpen_(): boolean {
    const last = this.stored_.length > 0 ? this.stored_[this.stored_.length - 1] : undefined;
    if (last && last.count < this.perRecord_ && last.chars + this.openSizes_[0] <= MAX_RECORD_CHARS) {
      const existing = this.readingsOf_(last);
      if (existing && this.stored_[this.stored_.length - 1] === last) {
        const n = this.fitting_(this.perRecord_ - last.count, MAX_RECORD_CHARS - last.chars);
        let chars = 0;
        for (let i = 0; i < n; i++) chars += this.openSizes_[i];
        const readings = existing.concat(this.takeOpen_(n));
        last.count = readings.length;
        last.chars += chars;
        this.put_(last, readings);
        if (this.open_.length > 0) this.openSince_ = this.clock_.now();
        return true;
      }
    }
    if (this.stored_.length >= this.records_) return false;
    this.writeOpen_();
    return true;
  }

  /** Moves the start of the open readings (one record's worth) into a new record. */
  private writeOpen_(): void {
    const n = this.chunkLength_();
    let chars = 16;
    for (let i = 0; i < n; i++) chars += this.openSizes_[i];
    const readings = this.takeOpen_(n);
    let index = this.nextIndex_;
    for (let tries = 0; tries < this.records_ && this.usesIndex_(index); tries++) index = (index + 1) % this.records_;
    this.nextIndex_ = (index + 1) % this.records_;
    const record: RecordMeta = { seq: this.nextSeq_++, key: KEY_PREFIX + index, count: n, done: 0, chars };
    this.stored_.push(record);
    this.put_(record, readings);
    // The message in flight from the open readings now stands for this record's start.
    if (this.inflight_ && !this.inflight_.record) this.inflight_.record = record;
    if (this.stored_.length === 1) this.cache_ = { seq: record.seq, readings };
    if (this.open_.length > 0) this.openSince_ = this.clock_.now();
  }

  private put_(record: RecordMeta, readings: Reading[]): void {
    this.writes++;
    if (this.cache_ && this.cache_.seq === record.seq) this.cache_ = { seq: record.seq, readings };
    try {
      this.store_.set(record.key, { q: record.seq, r: readings as unknown as JsonValue[] });
      record.memory = undefined;
    } catch (error) {
      record.memory = readings;
      this.log_.error('outbox: writing record ' + record.key + ' failed (' + describeError(error) + '); its readings are kept in memory only');
    }
  }

  private dropRecord_(record: RecordMeta): void {
    const i = this.stored_.indexOf(record);
    if (i >= 0) this.stored_.splice(i, 1);
    if (this.cache_ && this.cache_.seq === record.seq) this.cache_ = undefined;
    this.writes++;
    try {
      this.store_.delete(record.key);
    } catch (error) {
      this.log_.error('outbox: deleting record ' + record.key + ' failed: ' + describeError(error));
    }
  }

  /** The readings of a stored record (cached for the oldest); undefined when it is corrupt (then dropped). */
  private readingsOf_(record: RecordMeta): Reading[] | undefined {
    if (this.cache_ && this.cache_.seq === record.seq) return this.cache_.readings;
    if (record.memory) return record.memory;
    const readings = this.read_(record.key);
    if (!readings || readings.seq !== record.seq) {
      this.log_.warn('outbox: record ' + record.key + ' no longer reads back, skipped');
      this.dropRecord_(record);
      return undefined;
    }
    if (record === this.stored_[0]) this.cache_ = { seq: record.seq, readings: readings.readings };
    return readings.readings;
  }

  /** Reads slot `index` at start; a corrupt one is deleted with a log line, never thrown. */
  private load_(index: number): void {
    const key = KEY_PREFIX + index;
    const record = this.read_(key);
    if (record === undefined) return;
    if (record === null) {
      this.log_.warn('outbox: record ' + key + ' is corrupt, skipped and deleted');
      try {
        this.store_.delete(key);
      } catch {
        // nothing more to do: it is skipped either way
      }
      return;
    }
    this.stored_.push({ seq: record.seq, key, count: record.readings.length, done: 0, chars: JSON.stringify(record.readings).length });
    this.nextIndex_ = (index + 1) % this.records_;
  }

  /** A record's contents: undefined when absent, null when it is not a record. */
  private read_(key: string): { seq: number; readings: Reading[] } | null | undefined {
    let value: JsonValue | undefined;
    try {
      value = this.store_.get(key);
    } catch {
      return null;
    }
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const seq = value.q;
    const list = value.r;
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1 || !Array.isArray(list) || list.length === 0) return null;
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'number' || !Number.isInteger(r[0]) || r[0] < 0) return null;
      const v = r[1];
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length === 0) return null;
    }
    return { seq, readings: list as unknown as Reading[] };
  }

  // ---- helpers ----

  /**
   * How many open readings from the start make one record (and one message): the same rule for
   * both, so a message sent from the open readings is always the start of the record they go into.
   */
  private chunkLength_(): number {
    return Math.max(1, this.fitting_(this.perRecord_, MAX_RECORD_CHARS - 16));
  }

  /** How many open readings from the start fit in `count` readings and `chars` characters. */
  private fitting_(count: number, chars: number): number {
    const sizes = this.openSizes_;
    let used = 0;
    let n = 0;
    while (n < sizes.length && n < count && used + sizes[n] <= chars) used += sizes[n++];
    return n;
  }

  /** Removes the first `n` open readings and returns them. */
  private takeOpen_(n: number): Reading[] {
    const sizes = this.openSizes_.splice(0, n);
    for (let i = 0; i < sizes.length; i++) this.openChars_ -= sizes[i];
    return this.open_.splice(0, n);
  }

  /** Readings the ring can take still, counting the open ones as written. */
  private room_(): number {
    const stored = this.stored_;
    const last = stored.length > 0 ? stored[stored.length - 1] : undefined;
    return (this.records_ - stored.length) * this.perRecord_ + (last ? this.perRecord_ - last.count : 0) - this.open_.length;
  }

  private usesIndex_(index: number): boolean {
    const key = KEY_PREFIX + index;
    for (let i = 0; i < this.stored_.length; i++) if (this.stored_[i].key === key) return true;
    return false;
  }

  private full_(): MqttError {
    const error = new MqttError('queue-full', 'reading refused: the telemetry outbox holds ' + this.size + ' readings in ' + this.records_ + ' records, all waiting for the server');
    if (!this.fullNoted_) {
      this.fullNoted_ = true;
      this.log_.warn('outbox: ' + error.message);
    }
    return error;
  }
}

function isCount(n: number, min: number, max: number): boolean {
  return Number.isInteger(n) && n >= min && n <= max;
}
