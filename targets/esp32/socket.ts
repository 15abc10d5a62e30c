import type { Clock } from '../../src/platform/clock';
import { describeError } from '../../src/platform/errors';
import type { ConnectOptions, Connector, Socket, SocketHandlers } from '../../src/platform/socket';

/**
 * Sockets over ECMA-419 `embedded:io/socket/tcp` (and Moddable's `embedded:io/socket/tcp/tls`),
 * as the src/platform Socket contract wants them. No Moddable import here: the classes and the
 * resolver are injected, so the queue logic runs under vitest against fakes.
 *
 * What the ECMA-419 socket does (Moddable 5.6.0, lwIP on ESP32, POSIX on the simulator):
 * - takes `address` (dotted IPv4) only, so the host name is resolved first;
 * - onWritable(n) fires once connected, then whenever sent data was acknowledged, with the free
 *   send space; write() throws "would block" (sending nothing) when the data exceeds it, "not
 *   ready" before the connection is up; on ESP32 it returns the space left, on the simulator
 *   nothing (so the adapter also counts down itself);
 * - read() with no argument returns an ArrayBuffer of everything available;
 * - a remote close or an error calls onError() after the buffered data was read;
 * - after close() no callback fires.
 *
 * So write() here always takes the bytes: what fits goes to the socket, the rest waits in a
 * bounded queue (copied, since the caller may reuse its array) and goes out from onWritable.
 * write() returns false while anything is queued; onDrain fires when the queue is empty again.
 * A caller that ignores back-pressure past `maxQueuedBytes` gets the socket closed with an error.
 */

/** The part of an ECMA-419 TCP socket instance the adapter uses. */
export interface Ecma419Stream {
  read(): ArrayBuffer | undefined;
  /** ESP32 returns the send space left (TLS: an estimate); the simulator returns nothing. */
  write(bytes: Uint8Array): number | void | undefined;
  close(): void;
}

export interface Ecma419StreamOptions {
  address: string;
  port: number;
  /** TLS server name (SNI); also given to plain TCP, which ignores it. */
  host?: string;
  nodelay?: boolean;
  onReadable(this: unknown, count: number): void;
  onWritable(this: unknown, count: number): void;
  onError(this: unknown, message?: unknown): void;
  /** TLS only: Moddable's TLSSocket opens its TCP socket with `new options.TCP.io(...)`. */
  TCP?: { io: Ecma419StreamClass };
  /** TLS only: ssl/session options (verify, certificate, clientCertificates, clientKey). */
  secure?: Record<string, unknown>;
}

export type Ecma419StreamClass = new (options: Ecma419StreamOptions) => Ecma419Stream;

/** Host name -> IPv4 address, or undefined when it cannot be resolved (Moddable Net.resolve). */
export type Resolver = (host: string, callback: (address: string | undefined) => void) => void;

export interface Ecma419ConnectorOptions {
  TCP: Ecma419StreamClass;
  /** `embedded:io/socket/tcp/tls`; absent: a TLS connect fails with a clear error. */
  TLS?: Ecma419StreamClass;
  resolve: Resolver;
  /** For deferring callbacks that would otherwise run inside connect(). */
  clock: Clock;
  /** ssl/session options for TLS connections (built by the target from its config). */
  secure?: Record<string, unknown>;
  /** Hard cap on bytes waiting to be sent; default 16 KB. */
  maxQueuedBytes?: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export class Ecma419Connector implements Connector {
  constructor(private readonly options: Ecma419ConnectorOptions) {}

  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    return new Ecma419Socket(this.options, options, handlers);
  }
}

type State = 'resolving' | 'connecting' | 'open' | 'closed';

export class Ecma419Socket implements Socket {
  private state: State = 'resolving';
  private stream: Ecma419Stream | undefined;
  /** Free send space as last reported (and counted down by our own writes). */
  private writable = 0;
  private readonly queue: Uint8Array[] = [];
  /** Offset into queue[0] of the next byte to send. */
  private headOffset = 0;
  private queued = 0;
  private blocked = false;
  private readonly maxQueued: number;
  /** The 0 ms timer of open()/failSoon(), cleared by close(). */
  private deferred: unknown;

  constructor(
    private readonly env: Ecma419ConnectorOptions,
    private readonly target: ConnectOptions,
    private readonly handlers: SocketHandlers,
  ) {
    this.maxQueued = env.maxQueuedBytes ?? 16 * 1024;
    if (target.tls && !env.TLS) {
      this.failSoon(new Error('TLS requested but this build has no embedded:io/socket/tcp/tls'));
      return;
    }
    if (isIpv4(target.host)) {
      // Still asynchronous: the caller has not got this object back yet.
      this.defer(() => this.open(target.host));
      return;
    }
    try {
      env.resolve(target.host, (address) => {
        if (this.state !== 'resolving') return;
        if (address === undefined || !isIpv4(address)) this.fail(new Error('cannot resolve ' + target.host + (address ? ' (got ' + address + ')' : '')));
        else this.open(address);
      });
    } catch (error) {
      // Moddable throws when lwIP's DNS queue is full.
      this.failSoon(new Error('cannot resolve ' + target.host + ': ' + describeError(error)));
    }
  }

  /** Bytes waiting in the adapter's queue (for tests and diagnostics). */
  get queuedBytes(): number {
    return this.queued;
  }

  write(bytes: Uint8Array): boolean {
    if (this.state === 'closed') return true;
    if (bytes.length === 0) return !this.blocked;
    let offset = 0;
    if (this.state === 'open' && this.queued === 0) offset = this.send(bytes, 0);
    if ((this.state as State) === 'closed') return true; // send() may have failed the socket
    if (offset < bytes.length) {
      const rest = bytes.length - offset;
      if (this.queued + rest > this.maxQueued) {
        this.fail(new Error('send queue overflow: ' + (this.queued + rest) + ' bytes waiting (cap ' + this.maxQueued + ')'));
        return true;
      }
      this.queue.push(bytes.slice(offset));
      this.queued += rest;
      this.blocked = true;
    }
    return !this.blocked;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.release();
  }

  private open(address: string): void {
    if (this.state !== 'resolving') return;
    this.state = 'connecting';
    const self = this;
    const io = this.target.tls ? this.env.TLS! : this.env.TCP;
    const options: Ecma419StreamOptions = {
      address,
      port: this.target.port,
      host: this.target.tls?.serverName ?? this.target.host,
      nodelay: true,
      onReadable(count: number) {
        self.onReadable(count);
      },
      onWritable(count: number) {
        self.onWritable(count);
      },
      onError(message?: unknown) {
        self.fail(new Error(typeof message === 'string' && message ? message : 'connection to ' + self.target.host + ':' + self.target.port + ' failed or was closed'));
      },
    };
    if (this.target.tls) {
      options.TCP = { io: this.env.TCP };
      options.secure = { ...this.env.secure };
    }
    try {
      this.stream = new io(options);
    } catch (error) {
      this.failSoon(new Error('cannot open a socket to ' + address + ':' + this.target.port + ': ' + describeError(error)));
    }
  }

  private onWritable(count: number): void {
    if (this.state === 'closed') return;
    this.writable = count;
    if (this.state === 'connecting') {
      this.state = 'open';
      this.handlers.onConnect();
      if (this.state !== 'open') return;
    }
    this.flush();
  }

  private onReadable(count: number): void {
    if (this.state === 'closed' || !this.stream || count <= 0) return;
    let data: ArrayBuffer | undefined;
    try {
      data = this.stream.read();
    } catch (error) {
      this.fail(new Error('read failed: ' + describeError(error)));
      return;
    }
    if (data && data.byteLength > 0) this.handlers.onData(new Uint8Array(data));
  }

  /** Sends what fits from bytes[offset..]; returns the offset after the last byte sent. */
  private send(bytes: Uint8Array, offset: number): number {
    const n = Math.min(this.writable, bytes.length - offset);
    if (n <= 0) return offset;
    const chunk = offset === 0 && n === bytes.length ? bytes : bytes.subarray(offset, offset + n);
    let left: number | void | undefined;
    try {
      left = this.stream!.write(chunk);
    } catch (error) {
      const text = describeError(error);
      if (text.indexOf('would block') >= 0) {
        // Our count was optimistic (TLS record overhead): wait for the next onWritable.
        this.writable = 0;
        return offset;
      }
      this.fail(new Error('write failed: ' + text));
      return offset;
    }
    this.writable = typeof left === 'number' ? left : this.writable - n;
    return offset + n;
  }

  private flush(): void {
    while (this.queue.length > 0 && this.state === 'open' && this.writable > 0) {
      const head = this.queue[0];
      const next = this.send(head, this.headOffset);
      this.queued -= next - this.headOffset;
      if (next < head.length) {
        this.headOffset = next;
        return;
      }
      this.queue.shift();
      this.headOffset = 0;
    }
    if (this.state === 'open' && this.queue.length === 0 && this.blocked) {
      this.blocked = false;
      this.handlers.onDrain();
    }
  }

  private fail(reason: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.release();
    this.handlers.onClose(reason);
  }

  /** fail() on the next turn: for failures found while the caller is still inside connect(). */
  private failSoon(reason: Error): void {
    this.defer(() => this.fail(reason));
  }

  private defer(task: () => void): void {
    this.deferred = this.env.clock.setTimeout(() => {
      this.deferred = undefined;
      task();
    }, 0);
  }

  private release(): void {
    if (this.deferred !== undefined) {
      this.env.clock.clearTimeout(this.deferred);
      this.deferred = undefined;
    }
    this.queue.length = 0;
    this.queued = 0;
    this.headOffset = 0;
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      try {
        stream.close();
      } catch {
        // Already torn down by the platform.
      }
    }
  }
}
