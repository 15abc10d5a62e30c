/**
 * The Platform of the firmware inside xsnap-worker, bridged to the Node host (xs-device.ts).
 * Above the bridge it is the ESP32 target's own platform code, so that the XS engine in CI walks
 * the device's call paths (and their stack depth): the firmware's clock is targets/esp32's
 * EpochClock and its connector targets/esp32's Ecma419Connector, over the bridge standing in for
 * Moddable's native Timer and embedded:io/socket/tcp.
 *
 * - Timers: now() is the worker's Date.now(); timers live in the worker (a small sorted list).
 *   xsnap has no setTimeout, so after every command the reply tells the host how long until the
 *   earliest timer, and the host sends CMD.tick when that time has come.
 * - Sockets: each is an id and behaves like an ECMA-419 TCP socket (BridgeStream):
 *   connect/write/close are records in the reply, the host's node:net socket reports
 *   open/data/blocked/drain/closed as commands.
 * - Store: kept in the worker (synchronous, like Preference), loaded from the host's state file at
 *   start, every change mirrored to the host as a record (the host writes the file), so it survives
 *   a worker restart.
 * - Log: records to the host.
 * Nothing here touches a global at module top level, and all state lives on instances (DESIGN.md,
 * preload rules).
 */
import type { Clock, TimerHandle } from '../../../src/platform/clock';
import type { Log, LogLevel } from '../../../src/platform/log';
import type { Platform } from '../../../src/platform/platform';
import type { TlsOptions } from '../../../src/platform/socket';
import type { JsonValue, Store } from '../../../src/platform/store';
import { utf8Decode, utf8Encode } from '../../../src/platform/utf8';
import { EpochClock } from '../../esp32/clock';
import { Ecma419Connector, isIpv4, type Ecma419Stream, type Ecma419StreamClass, type Ecma419StreamOptions } from '../../esp32/socket';
import { BridgeUpdateTarget } from './bridge-update-target';
import { CMD, LOG_LEVELS, RECORD_HEADER_BYTES, REC, REPLY_HEADER_BYTES } from './protocol';

interface Timer {
  at: number;
  seq: number;
  callback: (() => void) | undefined;
}

/** Worker-side timers, run by Bridge.tick(). */
export class XsClock implements Clock {
  private readonly timers: Timer[] = [];
  private seq = 0;

  constructor(private readonly onError: (error: unknown) => void) {}

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const delay = ms > 0 ? ms : 0;
    const timer: Timer = { at: Date.now() + delay, seq: this.seq++, callback };
    const list = this.timers;
    let i = list.length;
    while (i > 0 && list[i - 1].at > timer.at) i--;
    list.splice(i, 0, timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as Timer | undefined;
    if (!timer || timer.callback === undefined) return;
    timer.callback = undefined;
    const i = this.timers.indexOf(timer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Runs every timer due now that existed before this call (a 0 ms timer set by one waits for the next tick). */
  runDue(): void {
    const now = Date.now();
    const limit = this.seq;
    const list = this.timers;
    let i = 0;
    while (i < list.length && list[i].at <= now) {
      const timer = list[i];
      if (timer.seq >= limit) {
        i++;
        continue;
      }
      list.splice(i, 1);
      const callback = timer.callback;
      timer.callback = undefined;
      if (!callback) continue;
      try {
        callback();
      } catch (error) {
        this.onError(error);
      }
      i = 0; // callbacks may have changed the list
    }
  }

  /** Milliseconds until the earliest timer (0 when overdue), -1 when none. */
  nextDelay(): number {
    if (this.timers.length === 0) return -1;
    const d = this.timers[0].at - Date.now();
    return d > 0 ? d : 0;
  }

  get pending(): number {
    return this.timers.length;
  }
}

interface PendingRecord {
  op: number;
  id: number;
  payload: Uint8Array | undefined;
}

/**
 * Send space a BridgeStream reports: the host's socket buffers what it is given, so the figure
 * only shapes the adapter's writes (lwIP's TCP_SND_BUF on an ESP32 is 5,744 bytes).
 */
const STREAM_SPACE = 5744;

/**
 * One host socket, shaped like Moddable's ECMA-419 TCP socket as targets/esp32/socket.ts expects
 * it: onWritable(space) once open and after a drain, onReadable(count) then read() for data,
 * onError() once at the end; write() returns the space left (0 while the host is blocked).
 */
export class BridgeStream implements Ecma419Stream {
  closed = false;
  blocked = false;
  private data_: Uint8Array | undefined;

  constructor(
    private readonly bridge_: Bridge,
    readonly id: number,
    readonly options: Ecma419StreamOptions,
  ) {}

  read(): ArrayBuffer | undefined {
    const data = this.data_;
    this.data_ = undefined;
    if (!data) return undefined;
    // Our own copy: the payload is a view into the command buffer.
    return data.slice().buffer as ArrayBuffer;
  }

  write(bytes: Uint8Array): number {
    if (this.closed) throw new Error('write on a closed socket');
    // Copied: the adapter may hand over a view of its queue, which it reuses.
    this.bridge_.record(REC.write, this.id, bytes.slice());
    return this.blocked ? 0 : STREAM_SPACE;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bridge_.forget(this);
    this.bridge_.record(REC.close, this.id, undefined);
  }

  /** The host's events (Bridge.dispatch). */
  opened(): void {
    this.options.onWritable.call(this, STREAM_SPACE);
  }
  received(payload: Uint8Array): void {
    this.data_ = payload;
    this.options.onReadable.call(this, payload.length);
  }
  drained(): void {
    this.blocked = false;
    this.options.onWritable.call(this, STREAM_SPACE);
  }
  ended(): void {
    this.closed = true;
    this.options.onError.call(this);
  }
}

class BridgeStore implements Store {
  private readonly values = new Map<string, string>();

  constructor(
    private readonly bridge: Bridge,
    initial: { [key: string]: unknown },
  ) {
    for (const key of Object.keys(initial)) this.values.set(key, JSON.stringify(initial[key]));
  }

  get(key: string): JsonValue | undefined {
    const text = this.values.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  }

  set(key: string, value: JsonValue): void {
    const text = JSON.stringify(value);
    this.values.set(key, text);
    this.bridge.record(REC.storeSet, 0, utf8Encode(key + '\u0000' + text));
  }

  delete(key: string): void {
    if (!this.values.delete(key)) return;
    this.bridge.record(REC.storeDelete, 0, utf8Encode(key));
  }
}

/** Log lines as records; each level writes its record itself (one frame under the caller, like trace()). */
class BridgeLog implements Log {
  constructor(
    private readonly bridge: Bridge,
    private readonly min: number,
  ) {}

  debug(message: string): void {
    if (this.min <= 0) this.bridge.record(REC.log, 0, utf8Encode(message));
  }
  info(message: string): void {
    if (this.min <= 1) this.bridge.record(REC.log, 1, utf8Encode(message));
  }
  warn(message: string): void {
    if (this.min <= 2) this.bridge.record(REC.log, 2, utf8Encode(message));
  }
  error(message: string): void {
    this.bridge.record(REC.log, 3, utf8Encode(message));
  }
}

/** xorshift32: xsnap's Math.random is the same sequence in every worker, so the host seeds this. */
class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x / 4294967296;
  }
}

export interface BridgeOptions {
  store: { [key: string]: unknown };
  seed: number;
  logLevel: LogLevel;
  /** TLS material for TLS connections (the device's one server); PEM, as the host's TLS wants it. */
  tls?: TlsOptions;
  /** Host names the host resolved before the start (name -> IPv4), as Moddable's Net.resolve would. */
  resolved?: { [host: string]: string };
  /** The host's update target (OTA), when the host has one. */
  ota?: { capacity: number; algorithms: string[] };
}

/**
 * The worker end of the bridge: owns the platform objects, collects the records of one command and
 * encodes them into the reply.
 */
export class Bridge {
  /** The worker's timers (what CMD.tick runs); the firmware sees them through platform.clock. */
  readonly clock: XsClock;
  readonly log: Log;
  readonly platform: Platform;
  /** The host's update target through the bridge (OTA); undefined when the host has none. */
  readonly updateTarget: BridgeUpdateTarget | undefined;
  private readonly records: PendingRecord[] = [];
  private readonly sockets = new Map<number, BridgeStream>();
  private nextSocketId = 1;
  /** Handed to xsnap as the command's return value: it reads `.result` after the job queue ran. */
  readonly reply: { readonly result: ArrayBuffer };

  constructor(options: BridgeOptions) {
    const level = LOG_LEVELS.indexOf(options.logLevel);
    this.log = new BridgeLog(this, level < 0 ? 1 : level);
    const timers = new XsClock((error) => this.log.error('timer callback threw: ' + describe(error)));
    this.clock = timers;
    const random = new SeededRandom(options.seed);
    const clock = new EpochClock(
      { wallNow: () => Date.now(), setTimer: (callback, ms) => timers.setTimeout(callback, ms), clearTimer: (timer) => timers.clearTimeout(timer) },
      this.log,
    );
    const resolved = options.resolved ?? {};
    this.platform = {
      clock,
      connector: new Ecma419Connector({
        TCP: this.streamClass_(undefined),
        TLS: this.streamClass_(options.tls ?? {}),
        clock,
        resolve: (host, callback) => {
          const address = resolved[host];
          timers.setTimeout(() => callback(address !== undefined && isIpv4(address) ? address : undefined), 0);
        },
      }),
      store: new BridgeStore(this, options.store),
      log: this.log,
      random: () => random.next(),
    };
    if (options.ota) {
      this.updateTarget = new BridgeUpdateTarget(this, options.ota.capacity, options.ota.algorithms);
      this.platform.updateTarget = this.updateTarget;
    }
    const bridge = this;
    this.reply = {
      get result(): ArrayBuffer {
        return bridge.encodeReply();
      },
    };
  }

  record(op: number, id: number, payload: Uint8Array | undefined): void {
    this.records.push({ op, id, payload });
  }

  /** An ECMA-419 socket class whose instances are bridge sockets (TLS ones when `tls` is given). */
  private streamClass_(tls: TlsOptions | undefined): Ecma419StreamClass {
    const bridge = this;
    return class {
      constructor(options: Ecma419StreamOptions) {
        return bridge.openStream_(options, tls);
      }
    } as unknown as Ecma419StreamClass;
  }

  private openStream_(options: Ecma419StreamOptions, tls: TlsOptions | undefined): BridgeStream {
    let id = this.nextSocketId;
    while (this.sockets.has(id)) id = id >= 0xffff ? 1 : id + 1;
    this.nextSocketId = id >= 0xffff ? 1 : id + 1;
    const stream = new BridgeStream(this, id, options);
    this.sockets.set(id, stream);
    const target: { host: string; port: number; tls?: TlsOptions } = { host: options.address, port: options.port };
    if (tls) target.tls = { ...tls, serverName: tls.serverName ?? options.host };
    this.record(REC.connect, id, utf8Encode(JSON.stringify(target)));
    return stream;
  }

  forget(stream: BridgeStream): void {
    if (this.sockets.get(stream.id) === stream) this.sockets.delete(stream.id);
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  /**
   * Handles a socket or timer command; returns false for ops it does not know (the caller handles
   * start/stop/status). Errors thrown by handlers are logged, never escape to xsnap. Kept small:
   * it sits under every callback on the XS stack, where the device has only its native caller.
   */
  dispatch(op: number, id: number, payload: Uint8Array): boolean {
    if (op === CMD.tick) {
      this.clock.runDue();
      return true;
    }
    if (op !== CMD.open && op !== CMD.data && op !== CMD.blocked && op !== CMD.drain && op !== CMD.closed) return false;
    const stream = this.sockets.get(id);
    if (!stream || stream.closed) return true; // closed by the firmware meanwhile: drop
    try {
      if (op === CMD.data) stream.received(payload);
      else if (op === CMD.open) stream.opened();
      else if (op === CMD.blocked) stream.blocked = true;
      else if (op === CMD.drain) stream.drained();
      else {
        this.sockets.delete(id);
        if (payload.length > 0) this.log.debug('socket ' + id + ': ' + utf8Decode(payload));
        stream.ended();
      }
    } catch (error) {
      this.log.error('socket ' + id + ' handler threw: ' + describe(error));
    }
    return true;
  }

  /** The reply: next timer delay, then every record collected since the last reply. */
  encodeReply(): ArrayBuffer {
    const records = this.records;
    let size = REPLY_HEADER_BYTES;
    for (let i = 0; i < records.length; i++) {
      const p = records[i].payload;
      size += RECORD_HEADER_BYTES + (p ? p.length : 0);
    }
    const buffer = new ArrayBuffer(size);
    const bytes = new Uint8Array(buffer);
    const view = new DataView(buffer);
    view.setFloat64(0, this.clock.nextDelay());
    let o = REPLY_HEADER_BYTES;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const n = r.payload ? r.payload.length : 0;
      bytes[o] = r.op;
      view.setUint16(o + 1, r.id);
      view.setUint32(o + 3, n);
      if (r.payload) bytes.set(r.payload, o + RECORD_HEADER_BYTES);
      o += RECORD_HEADER_BYTES + n;
    }
    records.length = 0;
    return buffer;
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return (error.name ? error.name + ': ' : '') + error.message;
  return String(error);
}
