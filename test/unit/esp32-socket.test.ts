import { describe, expect, it } from 'vitest';
import type { SocketHandlers } from '../../src/platform/socket';
import { Ecma419Connector, Ecma419Socket, isIpv4, type Ecma419Stream, type Ecma419StreamClass, type Ecma419StreamOptions, type Resolver } from '../../targets/esp32/socket';
import { FakeClock } from '../support/fake-clock';

/**
 * A fake ECMA-419 TCP socket that behaves like Moddable's lwIP one: write() throws "would block"
 * (sending nothing) when the data exceeds the free space, returns the space left, and the test
 * plays the network through onWritable/onReadable/onError.
 */
class FakeTcp implements Ecma419Stream {
  static last: FakeTcp | undefined;
  static all: FakeTcp[] = [];
  space = 0;
  sent: number[] = [];
  inbox: number[] = [];
  closed = false;
  returnsSpace = true;
  throwOnWrite: string | undefined;

  constructor(readonly options: Ecma419StreamOptions) {
    FakeTcp.last = this;
    FakeTcp.all.push(this);
  }

  read(): ArrayBuffer | undefined {
    if (this.inbox.length === 0) return undefined;
    const bytes = new Uint8Array(this.inbox.splice(0));
    return bytes.buffer;
  }

  write(bytes: Uint8Array): number | undefined {
    if (this.closed) throw new Error('closed');
    if (this.throwOnWrite) throw new Error(this.throwOnWrite);
    if (bytes.length > this.space) throw new Error('would block');
    this.sent.push(...bytes);
    this.space -= bytes.length;
    return this.returnsSpace ? this.space : undefined;
  }

  close(): void {
    this.closed = true;
  }

  // ---- the network side ----
  writable(space: number): void {
    this.space = space;
    this.options.onWritable.call(this, space);
  }
  receive(bytes: number[]): void {
    this.inbox.push(...bytes);
    this.options.onReadable.call(this, this.inbox.length);
  }
  error(): void {
    this.options.onError.call(this);
  }
}

interface Recorder extends SocketHandlers {
  events: string[];
  data: number[];
  reason: Error | undefined;
}

function recorder(): Recorder {
  const r: Recorder = {
    events: [],
    data: [],
    reason: undefined,
    onConnect: () => r.events.push('connect'),
    onData: (bytes) => {
      r.events.push('data');
      r.data.push(...bytes);
    },
    onDrain: () => r.events.push('drain'),
    onClose: (reason) => {
      r.events.push('close');
      r.reason = reason;
    },
  };
  return r;
}

/**
 * Moddable's TLSSocket (examples/io/tcp/tlssocket) as the adapter sees it: it opens its TCP socket
 * with `new options.TCP.io(...)`, reports onWritable(count - 96) once the handshake is done (here:
 * at the first onWritable), seals a record per write() and writes it to TCP (which throws "would
 * block" when it does not fit), and returns the TCP space left less 96.
 */
class FakeTls implements Ecma419Stream {
  static records = 0;
  static readonly overhead = 85;
  private readonly tcp_: FakeTcp;
  private writable_ = 0;

  constructor(options: Ecma419StreamOptions) {
    const tcpClass = options.TCP!.io as unknown as new (o: Ecma419StreamOptions) => FakeTcp;
    this.tcp_ = new tcpClass({
      ...options,
      onReadable: (count) => options.onReadable.call(this, count),
      onWritable: (count) => {
        this.writable_ = count;
        if (count > 96) options.onWritable.call(this, count - 96);
      },
      onError: () => options.onError.call(this),
    });
  }

  read(): ArrayBuffer | undefined {
    return this.tcp_.read();
  }

  write(bytes: Uint8Array): number {
    FakeTls.records++;
    const record = new Uint8Array(bytes.length + FakeTls.overhead);
    record.set(bytes);
    this.tcp_.write(record);
    this.writable_ -= record.length;
    return Math.max(0, this.writable_ - 96);
  }

  close(): void {
    this.tcp_.close();
  }
}

function setup(options: { resolve?: Resolver; maxQueuedBytes?: number; tls?: boolean; TLS?: Ecma419StreamClass } = {}) {
  FakeTcp.last = undefined;
  FakeTcp.all = [];
  const clock = new FakeClock();
  const resolved: string[] = [];
  const connector = new Ecma419Connector({
    TCP: FakeTcp,
    TLS: options.tls ? (options.TLS ?? FakeTcp) : undefined,
    clock,
    resolve: options.resolve ?? ((host, callback) => {
      resolved.push(host);
      clock.setTimeout(() => callback('10.0.0.7'), 5);
    }),
    secure: { verify: false },
    maxQueuedBytes: options.maxQueuedBytes,
  });
  return { clock, connector, resolved };
}

/** A socket connected to 10.0.0.1 (no DNS step) with its fake TCP and a recorder. */
function opened(options: Parameters<typeof setup>[0] = {}) {
  const { clock, connector } = setup(options);
  const r = recorder();
  const socket = connector.connect({ host: '10.0.0.1', port: 1883 }, r);
  clock.advance(0);
  return { clock, connector, r, socket, tcp: FakeTcp.last! };
}

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('esp32 Ecma419Socket', () => {
  it('resolves the host name first and connects to the IPv4 address, never calling back inside connect()', () => {
    const { clock, connector, resolved } = setup();
    const r = recorder();
    connector.connect({ host: 'tb.example', port: 1883 }, r);
    expect(FakeTcp.last).toBeUndefined();
    expect(resolved).toEqual(['tb.example']);
    clock.advance(5);
    expect(FakeTcp.last!.options.address).toBe('10.0.0.7');
    expect(FakeTcp.last!.options.port).toBe(1883);
    expect(r.events).toEqual([]);
    FakeTcp.last!.writable(1000);
    expect(r.events).toEqual(['connect']);
  });

  it('skips DNS for an IPv4 literal but still opens on the next turn', () => {
    const { clock, connector, resolved } = setup();
    const r = recorder();
    connector.connect({ host: '192.168.1.20', port: 1883 }, r);
    expect(FakeTcp.last).toBeUndefined();
    clock.advance(0);
    expect(resolved).toEqual([]);
    expect(FakeTcp.last!.options.address).toBe('192.168.1.20');
  });

  it('reports an unresolvable host through onClose', () => {
    const { clock, connector } = setup({ resolve: (_h, cb) => cb(undefined) });
    const r = recorder();
    connector.connect({ host: 'nowhere.example', port: 1883 }, r);
    clock.advance(0);
    expect(r.events).toEqual(['close']);
    expect(r.reason?.message).toContain('cannot resolve nowhere.example');
    expect(FakeTcp.last).toBeUndefined();
  });

  it('reports a resolver that throws (lwIP DNS queue full) asynchronously', () => {
    const { clock, connector } = setup({
      resolve: () => {
        throw new Error('dns queue full');
      },
    });
    const r = recorder();
    connector.connect({ host: 'tb.example', port: 1883 }, r);
    expect(r.events).toEqual([]);
    clock.advance(0);
    expect(r.reason?.message).toContain('dns queue full');
  });

  it('sends what fits, queues the rest, returns false, and drains from onWritable', () => {
    const { r, socket, tcp } = opened();
    tcp.writable(10);
    expect(socket.write(bytes(4))).toBe(true);
    expect(tcp.sent).toEqual([0, 1, 2, 3]);
    // 6 bytes of space left: 6 go out, 14 wait.
    expect(socket.write(bytes(20, 100))).toBe(false);
    expect(tcp.sent.length).toBe(10);
    // While blocked, even a small write queues behind (order is kept).
    expect(socket.write(bytes(2, 200))).toBe(false);
    expect(tcp.sent.length).toBe(10);
    tcp.writable(8);
    expect(tcp.sent.length).toBe(18);
    expect(r.events).toEqual(['connect']);
    tcp.writable(100);
    expect(r.events).toEqual(['connect', 'drain']);
    expect(tcp.sent).toEqual([...bytes(4), ...bytes(20, 100), ...bytes(2, 200)]);
    expect(socket.write(bytes(1))).toBe(true);
  });

  it('counts down the space itself where write() returns nothing (the simulator)', () => {
    const { r, socket, tcp } = opened();
    tcp.returnsSpace = false;
    tcp.writable(5);
    expect(socket.write(bytes(3))).toBe(true);
    expect(socket.write(bytes(3, 3))).toBe(false); // 2 fit, 1 waits; no "would block" thrown at us
    expect(tcp.sent).toEqual([0, 1, 2, 3, 4]);
    tcp.writable(5);
    expect(tcp.sent).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.events).toEqual(['connect', 'drain']);
  });

  it('keeps a queued copy: the caller may reuse its array', () => {
    const { socket, tcp } = opened();
    tcp.writable(0);
    const buffer = bytes(4);
    socket.write(buffer);
    buffer.fill(9);
    tcp.writable(10);
    expect(tcp.sent).toEqual([0, 1, 2, 3]);
  });

  it('closes the socket when write() throws, "would block" included: a sealed TLS record must not be sent again', () => {
    const { r, socket, tcp } = opened();
    tcp.writable(10);
    tcp.space = 2; // the platform has less than it said
    expect(socket.write(bytes(5))).toBe(true);
    expect(r.events).toEqual(['connect', 'close']);
    expect(r.reason?.message).toContain('would block');
    tcp.writable(10);
    expect(tcp.sent).toEqual([]);
  });

  it('stays within the space TLS reports, so the TCP write under a TLS record never blocks', () => {
    FakeTls.records = 0;
    const { clock, connector } = setup({ tls: true, TLS: FakeTls, maxQueuedBytes: 1 << 20 });
    const r = recorder();
    const socket = connector.connect({ host: 'tb.example', port: 8883, tls: {} }, r) as Ecma419Socket;
    clock.advance(5);
    const tcp = FakeTcp.last!;
    tcp.writable(1000); // handshake done: TLS reports 1000 - 96
    expect(r.events).toEqual(['connect']);
    let sent = 0;
    for (let i = 0; i < 40; i++) {
      socket.write(bytes(37 + i, i));
      sent += 37 + i;
      if (i % 7 === 6) tcp.writable(tcp.space + 300); // some acknowledged
    }
    for (let i = 0; i < 20 && socket.queuedBytes > 0; i++) tcp.writable(1000);
    expect(r.events).toEqual(['connect', 'drain']);
    expect(socket.queuedBytes).toBe(0);
    // Each record is the plaintext plus at most 85 bytes (TLS 1.2, AES-CBC with SHA-384).
    expect(tcp.sent.length).toBe(sent + FakeTls.records * FakeTls.overhead);
  });

  it('fails the socket when the queue would pass its cap', () => {
    const { clock, connector } = setup({ maxQueuedBytes: 16 });
    const r = recorder();
    const socket = connector.connect({ host: '10.0.0.1', port: 1883 }, r);
    clock.advance(0);
    FakeTcp.last!.writable(0);
    expect(socket.write(bytes(10))).toBe(false);
    socket.write(bytes(10));
    expect(r.events).toEqual(['connect', 'close']);
    expect(r.reason?.message).toContain('send queue overflow');
    expect(FakeTcp.last!.closed).toBe(true);
  });

  it('delivers data, then the error after the buffered data, once', () => {
    const { clock, connector } = setup();
    const r = recorder();
    connector.connect({ host: '10.0.0.1', port: 1883 }, r);
    clock.advance(0);
    const tcp = FakeTcp.last!;
    tcp.writable(100);
    tcp.receive([1, 2, 3]);
    tcp.error();
    tcp.error();
    expect(r.events).toEqual(['connect', 'data', 'close']);
    expect(r.data).toEqual([1, 2, 3]);
    expect(r.reason).toBeInstanceOf(Error);
    expect(tcp.closed).toBe(true);
  });

  it('reports a refused connection (onError before onWritable)', () => {
    const { clock, connector } = setup();
    const r = recorder();
    connector.connect({ host: '10.0.0.1', port: 1 }, r);
    clock.advance(0);
    FakeTcp.last!.error();
    expect(r.events).toEqual(['close']);
  });

  it('turns other write errors into onClose', () => {
    const { r, socket, tcp } = opened();
    tcp.writable(100);
    tcp.throwOnWrite = 'write failed';
    expect(socket.write(bytes(3))).toBe(true);
    expect(r.events).toEqual(['connect', 'close']);
    expect(r.reason?.message).toContain('write failed');
  });

  it('fires nothing after close(), closes the ECMA-419 socket and leaves no timer', () => {
    const { clock, connector } = setup();
    const r = recorder();
    const socket = connector.connect({ host: '10.0.0.1', port: 1883 }, r);
    socket.close();
    expect(clock.pending()).toBe(0);
    clock.advance(10);
    expect(FakeTcp.last).toBeUndefined();

    const r2 = recorder();
    const s2 = connector.connect({ host: '10.0.0.2', port: 1883 }, r2);
    clock.advance(0);
    const tcp = FakeTcp.last!;
    tcp.writable(0);
    s2.write(bytes(3));
    s2.close();
    s2.close();
    expect(tcp.closed).toBe(true);
    tcp.writable(10);
    tcp.receive([1]);
    tcp.error();
    expect(r2.events).toEqual(['connect']);
    expect(tcp.sent).toEqual([]);
    expect(s2.write(bytes(1))).toBe(true);
  });

  it('close() while resolving ignores the late DNS answer', () => {
    const { clock, connector } = setup();
    const r = recorder();
    const socket = connector.connect({ host: 'tb.example', port: 1883 }, r);
    socket.close();
    clock.advance(10);
    expect(FakeTcp.last).toBeUndefined();
    expect(r.events).toEqual([]);
  });

  it('opens TLS with the server name, the TCP class and the secure options', () => {
    const { clock, connector } = setup({ tls: true });
    const r = recorder();
    connector.connect({ host: 'tb.example', port: 8883, tls: {} }, r);
    clock.advance(5);
    const options = FakeTcp.last!.options;
    expect(options.host).toBe('tb.example');
    expect(options.address).toBe('10.0.0.7');
    expect(options.TCP?.io).toBe(FakeTcp);
    expect(options.secure).toEqual({ verify: false });
  });

  it('fails clearly when TLS is asked for without a TLS class', () => {
    const { clock, connector } = setup();
    const r = recorder();
    connector.connect({ host: 'tb.example', port: 8883, tls: {} }, r);
    clock.advance(10);
    expect(r.reason?.message).toContain('TLS');
  });

  it('recognises IPv4 literals only', () => {
    expect(isIpv4('10.0.0.1')).toBe(true);
    expect(isIpv4('255.255.255.255')).toBe(true);
    expect(isIpv4('256.0.0.1')).toBe(false);
    expect(isIpv4('tb.example')).toBe(false);
    expect(isIpv4('::1')).toBe(false);
    expect(isIpv4('1.2.3')).toBe(false);
  });
});
