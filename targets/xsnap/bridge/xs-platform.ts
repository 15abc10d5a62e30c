/**
 * The Platform of the firmware inside xsnap-worker, bridged to the Node host (xs-device.ts).
 *
 * - Clock: now() is the worker's Date.now(); timers live in the worker (a small sorted list).
 *   xsnap has no setTimeout, so after every command the reply tells the host how long until the
 *   earliest timer, and the host sends CMD.tick when that time has come.
 * - Connector: each socket is an id; connect/write/close are records in the reply, the host's
 *   node:net socket reports open/data/blocked/drain/closed as commands.
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
import type { ConnectOptions, Connector, Socket, SocketHandlers } from '../../../src/platform/socket';
import type { JsonValue, Store } from '../../../src/platform/store';
import { utf8Decode, utf8Encode } from '../../../src/platform/utf8';
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

class BridgeSocket implements Socket {
  closed = false;
  blocked = false;

  constructor(
    private readonly bridge: Bridge,
    readonly id: number,
    readonly handlers: SocketHandlers,
  ) {}

  write(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    // Kept by reference until the reply is encoded at the end of this command; the session does
    // not change bytes it has handed over within the same command.
    this.bridge.record(REC.write, this.id, bytes);
    return !this.blocked;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bridge.forget(this);
    this.bridge.record(REC.close, this.id, undefined);
  }
}

class BridgeConnector implements Connector {
  constructor(private readonly bridge: Bridge) {}

  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    return this.bridge.openSocket(options, handlers);
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

class BridgeLog implements Log {
  constructor(
    private readonly bridge: Bridge,
    private readonly min: number,
  ) {}

  debug(message: string): void {
    this.line(0, message);
  }
  info(message: string): void {
    this.line(1, message);
  }
  warn(message: string): void {
    this.line(2, message);
  }
  error(message: string): void {
    this.line(3, message);
  }

  private line(level: number, message: string): void {
    if (level >= this.min) this.bridge.record(REC.log, level, utf8Encode(message));
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
}

/**
 * The worker end of the bridge: owns the platform objects, collects the records of one command and
 * encodes them into the reply.
 */
export class Bridge {
  readonly clock: XsClock;
  readonly log: Log;
  readonly platform: Platform;
  private readonly records: PendingRecord[] = [];
  private readonly sockets = new Map<number, BridgeSocket>();
  private nextSocketId = 1;
  /** Handed to xsnap as the command's return value: it reads `.result` after the job queue ran. */
  readonly reply: { readonly result: ArrayBuffer };

  constructor(options: BridgeOptions) {
    const level = LOG_LEVELS.indexOf(options.logLevel);
    this.log = new BridgeLog(this, level < 0 ? 1 : level);
    this.clock = new XsClock((error) => this.log.error('timer callback threw: ' + describe(error)));
    const random = new SeededRandom(options.seed);
    this.platform = {
      clock: this.clock,
      connector: new BridgeConnector(this),
      store: new BridgeStore(this, options.store),
      log: this.log,
      random: () => random.next(),
    };
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

  openSocket(options: ConnectOptions, handlers: SocketHandlers): Socket {
    let id = this.nextSocketId;
    while (this.sockets.has(id)) id = id >= 0xffff ? 1 : id + 1;
    this.nextSocketId = id >= 0xffff ? 1 : id + 1;
    const socket = new BridgeSocket(this, id, handlers);
    this.sockets.set(id, socket);
    const target: { host: string; port: number; tls?: unknown } = { host: options.host, port: options.port };
    if (options.tls) target.tls = options.tls;
    this.record(REC.connect, id, utf8Encode(JSON.stringify(target)));
    return socket;
  }

  forget(socket: BridgeSocket): void {
    if (this.sockets.get(socket.id) === socket) this.sockets.delete(socket.id);
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  /**
   * Handles a socket or timer command; returns false for ops it does not know (the caller handles
   * start/stop/status). Errors thrown by handlers are logged, never escape to xsnap.
   */
  dispatch(op: number, id: number, payload: Uint8Array): boolean {
    if (op === CMD.tick) {
      this.clock.runDue();
      return true;
    }
    const isSocketOp = op === CMD.open || op === CMD.data || op === CMD.blocked || op === CMD.drain || op === CMD.closed;
    if (!isSocketOp) return false;
    const socket = this.sockets.get(id);
    if (!socket || socket.closed) return true; // closed by the firmware meanwhile: drop
    try {
      if (op === CMD.open) socket.handlers.onConnect();
      else if (op === CMD.data) socket.handlers.onData(payload);
      else if (op === CMD.blocked) socket.blocked = true;
      else if (op === CMD.drain) {
        socket.blocked = false;
        socket.handlers.onDrain();
      } else {
        socket.closed = true;
        this.sockets.delete(id);
        socket.handlers.onClose(payload.length > 0 ? new Error(utf8Decode(payload)) : undefined);
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
