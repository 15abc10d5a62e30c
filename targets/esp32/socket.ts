import type { Clock } from '../../src/platform/clock';
import { describeError } from '../../src/platform/errors';
import type { ConnectOptions, Connector, Socket, SocketHandlers } from '../../src/platform/socket';

/**
 * Sockets over ECMA-419 `embedded:io/socket/tcp` (and Moddable's `embedded:io/socket/tcp/tls`),
 * as the src/platform Socket contract wants them. No Moddable import here: the classes and the
 * resolver are injected, so the queue logic runs under vitest against fakes.
 *
 * What the ECMA-419 socket does (Moddable's modules/io/socket/lwip/tcp.c on ESP32, lin/tcp.c on
 * the Linux simulator, examples/io/tcp/tlssocket for TLS):
 * - takes `address` (dotted IPv4) only, so the host name is resolved first;
 * - onWritable(n) fires once connected, then whenever sent data was acknowledged, with the free
 *   send space; write() throws "would block" (sending nothing) when the data exceeds it, "not
 *   ready" before the connection is up; on ESP32 it returns the space left, on the simulator
 *   nothing (so the adapter also counts down itself); TLS reports and returns the space less 96
 *   bytes of record overhead;
 * - read() with no argument returns an ArrayBuffer of everything available;
 * - a remote close or an error calls onError(), with no argument, after the buffered data was
 *   read; the simulator's TCP ignores end-of-stream, so there a remote close surfaces at the next
 *   write (or the session's keepalive);
 * - after close() no callback fires.
 *
 * So write() here always takes the bytes: what fits goes to the socket, the rest waits in a
 * bounded queue (copied, since the caller may reuse its array) and goes out from onWritable.
 * write() returns false while anything is queued; onDrain fires when the queue is empty again.
 * A caller that ignores back-pressure past `maxQueuedBytes` gets the socket closed with an error.
 * The adapter never writes more than the reported space, so any throw from write() closes the
 * socket: under TLS the record was already sealed when the TCP write failed, and sending the
 * bytes again would corrupt the stream.
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
  onError(this: unknown): void;
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
  constructor(private readonly options_: Ecma419ConnectorOptions) {}

  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    return new Ecma419Socket(this.options_, options, handlers);
  }
}

type State = 'resolving' | 'connecting' | 'open' | 'closed';

export class Ecma419Socket implements Socket {
  private state_: State = 'resolving';
  private stream_: Ecma419Stream | undefined;
  /** Free send space as last reported (and counted down by our own writes). */
  private writable_ = 0;
  private readonly queue_: Uint8Array[] = [];
  /** Offset into queue[0] of the next byte to send. */
  private headOffset_ = 0;
  private queued_ = 0;
  private blocked_ = false;
  private readonly maxQueued_: number;
  /** The 0 ms timer of open()/failSoon(), cleared by close(). */
  private deferred_: unknown;

  constructor(
    private readonly env_: Ecma419ConnectorOptions,
    private readonly target_: ConnectOptions,
    private readonly handlers_: SocketHandlers,
  ) {
    this.maxQueued_ = env_.maxQueuedBytes ?? 16 * 1024;
    if (target_.tls && !env_.TLS) {
      this.failSoon_(new Error('TLS requested; this build lacks embedded:io/socket/tcp/tls'));
      return;
    }
    if (isIpv4(target_.host)) {
      // Still asynchronous: the caller has not got this object back yet.
      this.defer_(() => this.open_(target_.host));
      return;
    }
    try {
      env_.resolve(target_.host, (address) => {
        if (this.state_ !== 'resolving') return;
        if (address === undefined || !isIpv4(address)) this.fail_(new Error('cannot resolve ' + target_.host + (address ? ' (got ' + address + ')' : '')));
        else this.open_(address);
      });
    } catch (error) {
      // Moddable throws when lwIP's DNS queue is full.
      this.failSoon_(new Error('cannot resolve ' + target_.host + ': ' + describeError(error)));
    }
  }

  /** Bytes waiting in the adapter's queue (for tests and diagnostics). */
  get queuedBytes(): number {
    return this.queued_;
  }

  write(bytes: Uint8Array): boolean {
    if (this.state_ === 'closed') return true;
    if (bytes.length === 0) return !this.blocked_;
    let offset = 0;
    if (this.state_ === 'open' && this.queued_ === 0) offset = this.send_(bytes, 0);
    if ((this.state_ as State) === 'closed') return true; // send() may have failed the socket
    if (offset < bytes.length) {
      const rest = bytes.length - offset;
      if (this.queued_ + rest > this.maxQueued_) {
        this.fail_(new Error('send queue overflow: ' + (this.queued_ + rest) + ' bytes waiting (cap ' + this.maxQueued_ + ')'));
        return true;
      }
      this.queue_.push(bytes.slice(offset));
      this.queued_ += rest;
      this.blocked_ = true;
    }
    return !this.blocked_;
  }

  close(): void {
    if (this.state_ === 'closed') return;
    this.state_ = 'closed';
    this.release_();
  }

  private open_(address: string): void {
    if (this.state_ !== 'resolving') return;
    this.state_ = 'connecting';
    const self = this;
    const io = this.target_.tls ? this.env_.TLS! : this.env_.TCP;
    const options: Ecma419StreamOptions = {
      address,
      port: this.target_.port,
      host: this.target_.tls?.serverName ?? this.target_.host,
      nodelay: true,
      onReadable(count: number) {
        self.onReadable_(count);
      },
      onWritable(count: number) {
        self.onWritable_(count);
      },
      onError() {
        self.fail_(new Error('connection to ' + self.target_.host + ':' + self.target_.port + ' failed or was closed'));
      },
    };
    if (this.target_.tls) {
      options.TCP = { io: this.env_.TCP };
      options.secure = { ...this.env_.secure };
    }
    try {
      this.stream_ = new io(options);
    } catch (error) {
      this.failSoon_(new Error('cannot open a socket to ' + address + ':' + this.target_.port + ': ' + describeError(error)));
    }
  }

  private onWritable_(count: number): void {
    if (this.state_ === 'closed') return;
    this.writable_ = count;
    if (this.state_ === 'connecting') {
      this.state_ = 'open';
      this.handlers_.onConnect();
      if (this.state_ !== 'open') return;
    }
    this.flush_();
  }

  private onReadable_(count: number): void {
    if (this.state_ === 'closed' || !this.stream_ || count <= 0) return;
    let data: ArrayBuffer | undefined;
    try {
      data = this.stream_.read();
    } catch (error) {
      this.fail_(new Error('read failed: ' + describeError(error)));
      return;
    }
    if (data && data.byteLength > 0) this.handlers_.onData(new Uint8Array(data));
  }

  /** Sends what fits from bytes[offset..]; returns the offset after the last byte sent. */
  private send_(bytes: Uint8Array, offset: number): number {
    const n = Math.min(this.writable_, bytes.length - offset);
    if (n <= 0) return offset;
    const chunk = offset === 0 && n === bytes.length ? bytes : bytes.subarray(offset, offset + n);
    let left: number | void | undefined;
    try {
      left = this.stream_!.write(chunk);
    } catch (error) {
      this.fail_(new Error('write failed: ' + describeError(error)));
      return offset;
    }
    this.writable_ = typeof left === 'number' ? left : this.writable_ - n;
    return offset + n;
  }

  private flush_(): void {
    while (this.queue_.length > 0 && this.state_ === 'open' && this.writable_ > 0) {
      const head = this.queue_[0];
      const next = this.send_(head, this.headOffset_);
      this.queued_ -= next - this.headOffset_;
      if (next < head.length) {
        this.headOffset_ = next;
        return;
      }
      this.queue_.shift();
      this.headOffset_ = 0;
    }
    if (this.state_ === 'open' && this.queue_.length === 0 && this.blocked_) {
      this.blocked_ = false;
      this.handlers_.onDrain();
    }
  }

  private fail_(reason: Error): void {
    if (this.state_ === 'closed') return;
    this.state_ = 'closed';
    this.release_();
    this.handlers_.onClose(reason);
  }

  /** fail() on the next turn: for failures found while the caller is still inside connect(). */
  private failSoon_(reason: Error): void {
    this.defer_(() => this.fail_(reason));
  }

  private defer_(task: () => void): void {
    this.deferred_ = this.env_.clock.setTimeout(() => {
      this.deferred_ = undefined;
      task();
    }, 0);
  }

  private release_(): void {
    if (this.deferred_ !== undefined) {
      this.env_.clock.clearTimeout(this.deferred_);
      this.deferred_ = undefined;
    }
    this.queue_.length = 0;
    this.queued_ = 0;
    this.headOffset_ = 0;
    const stream = this.stream_;
    this.stream_ = undefined;
    if (stream) {
      try {
        stream.close();
      } catch {
        // Already torn down by the platform.
      }
    }
  }
}
