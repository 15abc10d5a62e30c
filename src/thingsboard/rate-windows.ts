/**
 * ThingsBoard's rate limit strings ("10:1,300:60": at most 10 per 1 s and 300 per 60 s) as token
 * buckets, one per window, refilled greedily as ThingsBoard's Bucket4j limits are. The local
 * server takes from them (over the limit: refused); the device asks how long to wait.
 */

/** A window that keeps holding messages back says so again after this long at the soonest. */
const NOTE_EVERY_MS = 60_000;

/** One window of a spec: at most `capacity` per `periodMs`. */
export interface RateWindow {
  readonly capacity: number;
  readonly periodMs: number;
}

/**
 * Parses a spec; "" is no limit (an empty list). Returns a message naming the problem for a
 * malformed one.
 */
export function parseRateSpec(spec: string): RateWindow[] | string {
  const text = spec.trim();
  if (text === '') return [];
  const out: RateWindow[] = [];
  const pairs = text.split(',');
  for (let i = 0; i < pairs.length; i++) {
    const m = /^\s*(\d{1,9})\s*:\s*(\d{1,9})\s*$/.exec(pairs[i]);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
      return 'rate limit "' + spec + '": each window is N:SECONDS with N and SECONDS >= 1, e.g. 10:1,300:60';
    }
    out.push({ capacity: Number(m[1]), periodMs: Number(m[2]) * 1000 });
  }
  return out;
}

/**
 * The buckets of one spec. `stretch` >= 1 lengthens every period (the device refills slower than
 * the server, so network jitter cannot bunch its messages over the server's rate); `full` says
 * whether the buckets start full (the server, as Bucket4j) or empty (the device, which cannot know
 * what the server counted already).
 */
export class RateWindows {
  readonly spec: string;
  private readonly capacity_: number[] = [];
  private readonly periodMs_: number[] = [];
  private readonly tokens_: number[] = [];
  private at_: number;
  /** When this spec last said "wait" in the log (noteWait). */
  private notedAt_ = -Infinity;
  /** Its longest window, or a minute if that is longer: how often noteWait says yes at most. */
  private noteEveryMs_ = NOTE_EVERY_MS;

  constructor(spec: string, windows: RateWindow[], now: number, full: boolean, stretch = 1) {
    this.spec = spec;
    this.at_ = now;
    for (let i = 0; i < windows.length; i++) {
      this.capacity_.push(windows[i].capacity);
      this.periodMs_.push(windows[i].periodMs * stretch);
      this.tokens_.push(full ? windows[i].capacity : 0);
      if (windows[i].periodMs * stretch > this.noteEveryMs_) this.noteEveryMs_ = windows[i].periodMs * stretch;
    }
  }

  /** The smallest capacity: more than this in one message never fits. */
  get smallestCapacity(): number {
    let min = Infinity;
    for (let i = 0; i < this.capacity_.length; i++) if (this.capacity_[i] < min) min = this.capacity_[i];
    return min;
  }

  /** Milliseconds until `n` tokens are in every window (0: now; Infinity: never, n is too big). */
  waitMs(n: number, now: number): number {
    this.refill_(now);
    let wait = 0;
    for (let i = 0; i < this.tokens_.length; i++) {
      const missing = n - this.tokens_[i];
      if (missing <= 0) continue;
      if (n > this.capacity_[i]) return Infinity;
      const ms = Math.ceil((missing * this.periodMs_[i]) / this.capacity_[i]);
      if (ms > wait) wait = ms;
    }
    return wait;
  }

  /** Takes `n` tokens from every window (after waitMs said 0, or for a message that had to go). */
  take(n: number): void {
    for (let i = 0; i < this.tokens_.length; i++) this.tokens_[i] -= n;
  }

  /** Takes `n` from every window if all have them; false (nothing taken) otherwise. */
  tryTake(n: number, now: number): boolean {
    if (this.waitMs(n, now) > 0) return false;
    this.take(n);
    return true;
  }

  /**
   * True when `n` has to wait and the spec has not said so for its longest window, or for a minute
   * if that is longer: the caller logs then, so a device held back for an hour by a 1 s window
   * says so once a minute, not once a message.
   */
  noteWait(n: number, now: number): boolean {
    if (now - this.notedAt_ < this.noteEveryMs_) return false;
    for (let i = 0; i < this.tokens_.length; i++) {
      if (this.tokens_[i] >= n) continue;
      this.notedAt_ = now;
      return true;
    }
    return false;
  }

  private refill_(now: number): void {
    const elapsed = now - this.at_;
    if (elapsed <= 0) return;
    this.at_ = now;
    for (let i = 0; i < this.tokens_.length; i++) {
      const t = this.tokens_[i] + (elapsed * this.capacity_[i]) / this.periodMs_[i];
      this.tokens_[i] = t > this.capacity_[i] ? this.capacity_[i] : t;
    }
  }
}
