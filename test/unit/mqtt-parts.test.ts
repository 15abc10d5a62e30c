import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/mqtt/backoff';
import { Keepalive } from '../../src/mqtt/keepalive';
import { Outbox } from '../../src/mqtt/outbox';
import { PacketIdAllocator } from '../../src/mqtt/packet-ids';
import { FakeClock } from '../support/fake-clock';

describe('PacketIdAllocator', () => {
  it('starts at 1, never yields 0, wraps from 65535 to 1', () => {
    const ids = new PacketIdAllocator();
    expect(ids.allocate()).toBe(1);
    ids.release(1);
    let last = 0;
    for (let i = 0; i < 65534; i++) {
      last = ids.allocate();
      ids.release(last);
    }
    expect(last).toBe(65535);
    expect(ids.allocate()).toBe(1);
  });

  it('skips ids still in use after wrapping', () => {
    const ids = new PacketIdAllocator();
    const held = [ids.allocate(), ids.allocate(), ids.allocate()]; // 1, 2, 3
    ids.release(2);
    for (let i = 4; i <= 65535; i++) ids.release(ids.allocate());
    expect(ids.allocate()).toBe(2); // 1 is still held
    expect(ids.allocate()).toBe(4); // 3 is still held
    expect(held).toEqual([1, 2, 3]);
  });

  it('reports exhaustion with 0 instead of reusing an id', () => {
    const ids = new PacketIdAllocator();
    const seen = new Set<number>();
    for (let i = 0; i < 65535; i++) seen.add(ids.allocate());
    expect(seen.size).toBe(65535);
    expect(seen.has(0)).toBe(false);
    expect(ids.allocate()).toBe(0);
  });
});

describe('Backoff', () => {
  it('doubles from initial to the cap without jitter', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5 }, () => 0);
    expect(Array.from({ length: 9 }, () => b.next())).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    b.reset();
    expect(b.next()).toBe(1000);
  });
  it('jitter takes off at most its share', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5 }, () => 0.999999);
    expect(b.next()).toBe(500);
    expect(b.next()).toBe(1000);
  });
  it('never overflows after many attempts', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0 }, Math.random);
    for (let i = 0; i < 5000; i++) b.next();
    expect(b.next()).toBe(60_000);
  });
  it('refuses nonsense options', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10, jitter: 0 }, Math.random)).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5, jitter: 0 }, Math.random)).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 50, jitter: 2 }, Math.random)).toThrow(RangeError);
  });
});

describe('Keepalive', () => {
  function setup(k = 10_000) {
    const clock = new FakeClock();
    const log: string[] = [];
    const ka = new Keepalive(clock, k, { ping: () => log.push('ping@' + (clock.now() - start)), timeout: () => log.push('timeout@' + (clock.now() - start)) });
    const start = clock.now();
    return { clock, ka, log };
  }

  it('pings after K of silence and gives up at 1.5 K without an answer', () => {
    const { clock, ka, log } = setup();
    ka.start();
    clock.advance(9_999);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['ping@10000']);
    clock.advance(5_000);
    expect(log).toEqual(['ping@10000', 'timeout@15000']);
    expect(clock.pending()).toBe(0);
  });

  it('stays alive when each ping is answered', () => {
    const { clock, ka, log } = setup();
    ka.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(10_000);
      clock.advance(50);
      ka.onReceived(); // PINGRESP
    }
    expect(log.filter((l) => l.startsWith('timeout'))).toEqual([]);
    expect(log.length).toBe(10);
    ka.stop();
    expect(clock.pending()).toBe(0);
  });

  it('pings even while sending, when nothing comes back (QoS 0 only traffic)', () => {
    const { clock, ka, log } = setup();
    ka.start();
    for (let t = 0; t < 14_000; t += 1000) {
      clock.advance(1000);
      ka.onSent();
    }
    expect(log).toEqual(['ping@10000']);
    clock.advance(1000);
    expect(log).toEqual(['ping@10000', 'timeout@15000']);
  });

  it('does not ping while traffic flows both ways', () => {
    const { clock, ka, log } = setup();
    ka.start();
    for (let t = 0; t < 60_000; t += 2000) {
      clock.advance(2000);
      ka.onSent();
      ka.onReceived();
    }
    expect(log).toEqual([]);
    ka.stop();
  });

  it('keepalive 0 starts nothing', () => {
    const { clock, ka } = setup(0);
    ka.start();
    expect(clock.pending()).toBe(0);
  });
});

describe('Outbox', () => {
  const msg = (n: number, qos: 0 | 1 = 1) => ({ bytes: new Uint8Array(n), idOffset: 0, qos, id: 0, done: undefined, pace: 0 });

  it('refuses past the message cap and the byte cap, keeping what it holds', () => {
    const o = new Outbox({ maxQueuedMessages: 3, maxQueuedBytes: 100, maxInflight: 2 });
    expect(o.enqueue(msg(10))).toBeUndefined();
    expect(o.enqueue(msg(10))).toBeUndefined();
    const full = o.enqueue(msg(81));
    expect(full?.code).toBe('queue-full');
    expect(full?.message).toBe('publish of 81 bytes refused: the send queue holds 2 of 3 messages and 20 of 100 bytes');
    expect(o.enqueue(msg(80))).toBeUndefined();
    expect(o.enqueue(msg(1))?.code).toBe('queue-full');
    expect(o.queuedCount).toBe(3);
    expect(o.queuedByteCount).toBe(100);
  });

  it('respects the in-flight window for QoS 1 but lets QoS 0 wait behind it in order', () => {
    const o = new Outbox({ maxQueuedMessages: 10, maxQueuedBytes: 1000, maxInflight: 1 });
    const a = msg(1), b = msg(2, 0), c = msg(3);
    o.enqueue(a);
    o.enqueue(b);
    o.enqueue(c);
    expect(o.takeNext()).toBe(a);
    o.inflight.set(1, a);
    expect(o.takeNext()).toBe(b);
    expect(o.takeNext()).toBeUndefined(); // c waits for the window
    expect(o.acknowledge(1)).toBe(a);
    expect(o.takeNext()).toBe(c);
  });

  it('keeps FIFO order across compaction', () => {
    const o = new Outbox({ maxQueuedMessages: 1000, maxQueuedBytes: 1_000_000, maxInflight: 1000 });
    const all = Array.from({ length: 500 }, (_, i) => msg(i + 1, 0));
    const out: unknown[] = [];
    for (let i = 0; i < all.length; i++) {
      expect(o.enqueue(all[i])).toBeUndefined();
      if (i % 3 === 0) out.push(o.takeNext());
    }
    for (let m = o.takeNext(); m; m = o.takeNext()) out.push(m);
    expect(out).toEqual(all);
    expect(o.queuedByteCount).toBe(0);
  });
});
