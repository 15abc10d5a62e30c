import { generate } from 'mqtt-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttCodec } from '../../src/mqtt/codec-types';
import { MqttError } from '../../src/mqtt/errors';
import { mqttPacketCodec } from '../../src/mqtt/mqtt-packet-codec';
import { MqttSession, type MqttSessionOptions } from '../../src/mqtt/session';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';
import { FakeConnector, type FakeSocket } from '../support/fake-connector';
import { parsePacket as parse } from '../support/mqtt-parse';
import { mulberry32 } from '../support/random';

const CONNACK_OK = [0x20, 2, 0, 0];
const pkt = (p: object) => Uint8Array.from(generate(p as never));
const puback = (id: number) => [0x40, 2, id >> 8, id & 0xff];

let sessions: MqttSession[] = [];
/** Every test runs once per codec (see describe blocks at the end of the file). */
let codec: MqttCodec = mqttPacketCodec;
afterEach(() => {
  for (const s of sessions) s.close();
  sessions = [];
});

function setup(extra: Partial<MqttSessionOptions> = {}) {
  const clock = new FakeClock();
  const connector = new FakeConnector();
  const errors: MqttError[] = [];
  const session = new MqttSession({ connector, clock, host: 'tb.local', port: 1883, clientId: 'c1', username: 'TOKEN', random: () => 0, codec, ...extra });
  session.events.on('error', (e) => errors.push(e));
  sessions.push(session);
  return { clock, connector, session, errors };
}

/** Opens the socket and answers the CONNECT with CONNACK 0. */
function accept(socket: FakeSocket): void {
  socket.open();
  expect(parse(socket.written[socket.written.length - 1]).cmd).toBe('connect');
  socket.receive(CONNACK_OK);
}

for (const [name, c] of [['mqtt-packet', mqttPacketCodec]] as const) {
describe(name + ' codec', () => {
  beforeEach(() => {
    codec = c;
  });

describe('MqttSession connect', () => {
  it('sends CONNECT with the credentials, clean session and keepalive', () => {
    const { connector, session } = setup({ keepaliveSeconds: 30 });
    session.start();
    expect(connector.last.options).toMatchObject({ host: 'tb.local', port: 1883 });
    connector.last.open();
    expect(parse(connector.last.written[0])).toMatchObject({ cmd: 'connect', clientId: 'c1', username: 'TOKEN', clean: true, keepalive: 30, protocolVersion: 4 });
    connector.last.receive(CONNACK_OK);
    expect(session.connected).toBe(true);
  });

  it('options that cannot make a CONNECT end the session with an error, never a throw', () => {
    const { connector, session, errors } = setup({ will: { topic: 'w', payload: 42 as never, qos: 0, retain: false } });
    expect(() => session.start()).not.toThrow();
    expect(errors.map((e) => e.code)).toEqual(['invalid-argument']);
    expect(errors[0].message).toMatch(/cannot encode CONNECT/);
    expect(session.state).toBe('closed');
    expect(connector.sockets).toHaveLength(0);
  });

  for (const [rc, longWait] of [[1, true], [2, true], [3, false], [4, true], [5, true]] as const) {
    it(`CONNACK ${rc} is a typed error and ${longWait ? 'backs off for minutes' : 'retries with normal backoff'}`, () => {
      const { clock, connector, session, errors } = setup();
      session.start();
      connector.last.open();
      connector.last.receive([0x20, 2, 0, rc]);
      expect(errors[0]).toBeInstanceOf(MqttError);
      expect(errors[0].code).toBe('connack-refused');
      expect(errors[0].returnCode).toBe(rc);
      expect(errors[0].message).toMatch(/CONNACK \d: /);
      expect(connector.last.closed).toBe(true);
      clock.advance(longWait ? 119_999 : 999);
      expect(connector.sockets.length).toBe(1);
      clock.advance(1);
      expect(connector.sockets.length).toBe(2);
    });
  }

  it('refusals with bad credentials back off longer each time, never a tight loop', () => {
    const { clock, connector, session } = setup();
    session.start();
    const times: number[] = [];
    const t0 = clock.now();
    for (let i = 0; i < 4; i++) {
      connector.last.open();
      connector.last.receive([0x20, 2, 0, 5]);
      clock.advance(clock.nextAt()! - clock.now());
      times.push(clock.now() - t0);
    }
    expect(times).toEqual([120_000, 360_000, 840_000, 1_800_000]);
  });

  it('times out waiting for CONNACK and reconnects', () => {
    const { clock, connector, session, errors } = setup({ connackTimeoutMs: 5000 });
    session.start();
    connector.last.open();
    clock.advance(5000);
    expect(errors.map((e) => e.code)).toEqual(['connack-timeout']);
    expect(connector.last.closed).toBe(true);
    clock.advance(1000);
    expect(connector.sockets.length).toBe(2);
  });

  it('times out a TCP connect that never opens', () => {
    const { clock, connector, session, errors } = setup({ connectTimeoutMs: 3000 });
    session.start();
    clock.advance(3000);
    expect(errors.map((e) => e.code)).toEqual(['connect-timeout']);
    expect(connector.sockets[0].closed).toBe(true);
  });

  it('a connector that throws becomes an error and a retry, not a crash', () => {
    const { clock, connector, session, errors } = setup();
    connector.failWith = new Error('getaddrinfo ENOTFOUND');
    session.start();
    expect(errors[0].code).toBe('socket');
    expect(errors[0].message).toContain('ENOTFOUND');
    connector.failWith = undefined;
    clock.advance(1000);
    expect(connector.sockets.length).toBe(1);
  });

  it('backoff grows between failed attempts and resets after a stable connection', () => {
    const { clock, connector, session } = setup();
    session.start();
    const gaps: number[] = [];
    for (let i = 0; i < 8; i++) {
      const before = clock.now();
      connector.last.drop(new Error('ECONNREFUSED'));
      clock.advance(clock.nextAt()! - clock.now());
      gaps.push(clock.now() - before);
    }
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    accept(connector.last);
    clock.advance(30_000);
    connector.last.receive([0xd0, 0]);
    connector.last.drop();
    expect(clock.nextAt()! - clock.now()).toBe(1000);
  });

  it('connections the server ends within seconds are not successes: the backoff keeps growing', () => {
    const { clock, connector, session } = setup();
    session.start();
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      accept(connector.last); // CONNACK 0 ...
      clock.advance(3000);
      connector.last.drop(); // ... and closed 3 s later, as a server over its limits does
      const before = clock.now();
      clock.advance(clock.nextAt()! - clock.now());
      gaps.push(clock.now() - before);
    }
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('rejects a server packet before CONNACK and a second CONNACK', () => {
    const { connector, session, errors } = setup();
    session.start();
    connector.last.open();
    connector.last.receive([0xd0, 0]);
    expect(errors[0].code).toBe('protocol');
    const { connector: c2, session: s2, errors: e2 } = setup();
    s2.start();
    accept(c2.last);
    c2.last.receive(CONNACK_OK);
    expect(e2[0].code).toBe('protocol');
    expect(c2.last.closed).toBe(true);
  });

  it('refuses bad options with a clear message', () => {
    const clock = new FakeClock();
    const connector = new FakeConnector();
    expect(() => new MqttSession({ connector, clock, host: '', port: 1883, clientId: 'x' })).toThrow(/host/);
    expect(() => new MqttSession({ connector, clock, host: 'h', port: 70000, clientId: 'x' })).toThrow(/port/);
    expect(() => new MqttSession({ connector, clock, host: 'h', port: 1, clientId: 'x', password: 'p' })).toThrow(/password needs a username/);
  });
});

describe('MqttSession publish', () => {
  it('QoS 1 completes on PUBACK; QoS 0 once written', async () => {
    const { connector, session } = setup();
    session.start();
    accept(connector.last);
    connector.last.take();
    let q0 = false;
    session.publish('t', 'a', { qos: 0 }, (e) => (q0 = !e));
    // Writes are deferred to a flush job; the QoS 0 callback fires when the bytes are written.
    expect(connector.last.written).toEqual([]);
    expect(q0).toBe(false);
    await flushMicrotasks();
    expect(parse(connector.last.written[0])).toMatchObject({ cmd: 'publish', qos: 0, topic: 't' });
    expect(q0).toBe(true);
    const p = session.publishAsync('v1/devices/me/telemetry', '{"t":1}', { qos: 1 });
    await flushMicrotasks();
    const sent = parse(connector.last.written[1]);
    expect(sent).toMatchObject({ cmd: 'publish', qos: 1, topic: 'v1/devices/me/telemetry', dup: false });
    let done = false;
    p.then(() => (done = true));
    await flushMicrotasks();
    expect(done).toBe(false);
    connector.last.receive(puback(sent.messageId));
    await p;
  });

  it('refuses QoS 2, bad topics and oversized packets with typed errors', async () => {
    const { session } = setup({ maxPacketBytes: 1024 });
    await expect(session.publishAsync('t', 'x', { qos: 2 })).rejects.toMatchObject({ code: 'qos-unsupported' });
    await expect(session.publishAsync('a/+', 'x')).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(session.publishAsync('', 'x')).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(session.publishAsync('t', 'x'.repeat(2000), { qos: 1 })).rejects.toMatchObject({ code: 'packet-too-large' });
  });

  it('a queued publish past its expiresAt is not sent: it completes with expired', async () => {
    const { clock, connector, session } = setup();
    session.start();
    const results: (string | undefined)[] = [];
    session.publish('req/1', 'a', { qos: 1, expiresAt: clock.now() + 500 }, (e) => results.push(e?.code));
    session.publish('req/2', 'b', { qos: 1, expiresAt: clock.now() + 5000 }, (e) => results.push(e?.code));
    session.publish('data', 'c', { qos: 0 }, (e) => results.push(e?.code));
    clock.advance(501);
    accept(connector.last);
    await flushMicrotasks();
    const topics = connector.last.written.map(parse).filter((p) => p.cmd === 'publish').map((p) => p.topic);
    expect(topics).toEqual(['req/2', 'data']);
    expect(results).toEqual(['expired', undefined]); // the QoS 1 one waits for its PUBACK
  });

  it('a publish without a callback reports its error on the error event', () => {
    const { session, errors } = setup();
    expect(session.publish('t', 'x', { qos: 2 })).toBe(false);
    expect(errors[0].code).toBe('qos-unsupported');
  });

  it('queues while offline, bounded, and flushes in order on connect', () => {
    const { connector, session } = setup({ maxQueuedMessages: 3 });
    session.start();
    const results: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) session.publish('t', String(i), { qos: 1 }, (e) => results.push(e?.code));
    expect(results).toEqual(['queue-full']);
    expect(session.stats.queued).toBe(3);
    accept(connector.last);
    const pubs = connector.last.written.slice(1).map(parse);
    expect(pubs.map((p) => p.payload.toString())).toEqual(['0', '1', '2']);
    for (const p of pubs) connector.last.receive(puback(p.messageId));
    expect(results).toEqual(['queue-full', undefined, undefined, undefined]);
  });

  it('byte cap on the queue', () => {
    const { session } = setup({ maxQueuedBytes: 100 });
    const results: (string | undefined)[] = [];
    session.publish('t', 'x'.repeat(60), { qos: 1 }, (e) => results.push(e?.code));
    session.publish('t', 'x'.repeat(60), { qos: 1 }, (e) => results.push(e?.code));
    expect(results).toEqual(['queue-full']);
    expect(session.stats.queuedBytes).toBeLessThanOrEqual(100);
  });

  it('resends unacknowledged publishes after reconnect: same ids, DUP=1, original order, before new ones', async () => {
    const { clock, connector, session } = setup({ maxInflight: 4 });
    session.start();
    accept(connector.last);
    connector.last.take();
    for (let i = 0; i < 6; i++) session.publish('t', 'm' + i, { qos: 1 });
    await flushMicrotasks();
    const first = connector.last.take().map(parse);
    expect(first.map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2', 'm3']);
    connector.last.receive(puback(first[1].messageId));
    // The freed window let m4 out before the link dropped: it is in flight too.
    expect(connector.last.take().map((b) => parse(b).payload.toString())).toEqual(['m4']);
    connector.last.drop(new Error('ECONNRESET'));
    session.publish('t', 'new', { qos: 1 });
    await flushMicrotasks(); // the flush job finds no connection: 'new' stays queued
    clock.advance(1000);
    accept(connector.last);
    const again = connector.last.take().slice(1).map(parse);
    expect(again.map((p) => [p.payload.toString(), p.dup])).toEqual([
      ['m0', true],
      ['m2', true],
      ['m3', true],
      ['m4', true],
    ]);
    expect(again.slice(0, 3).map((p) => p.messageId)).toEqual([first[0].messageId, first[2].messageId, first[3].messageId]);
    for (const p of again) connector.last.receive(puback(p.messageId));
    const fresh = connector.last.take().map(parse);
    expect(fresh.map((p) => [p.payload.toString(), p.dup])).toEqual([
      ['m5', false],
      ['new', false],
    ]);
  });

  it('waits for drain when the socket pushes back', async () => {
    const { connector, session } = setup();
    session.start();
    accept(connector.last);
    connector.last.take();
    connector.last.acceptMore = false;
    session.publish('t', 'a', { qos: 0 });
    session.publish('t', 'b', { qos: 0 });
    await flushMicrotasks();
    expect(connector.last.take().length).toBe(1);
    connector.last.drain();
    expect(connector.last.take().map((b) => parse(b).payload.toString())).toEqual(['b']);
  });

  it('close() fails pending publishes with "closed" and leaves no timer', () => {
    const { clock, connector, session } = setup();
    session.start();
    accept(connector.last);
    const codes: (string | undefined)[] = [];
    session.publish('t', 'a', { qos: 1 }, (e) => codes.push(e?.code));
    session.close();
    expect(codes).toEqual(['closed']);
    expect(parse(connector.last.written[connector.last.written.length - 1]).cmd).toBe('disconnect');
    expect(connector.last.closed).toBe(true);
    expect(clock.pending()).toBe(0);
  });

  it('close() while waiting to reconnect clears the reconnect timer', () => {
    const { clock, connector, session } = setup();
    session.start();
    connector.last.drop(new Error('ECONNREFUSED'));
    expect(clock.pending()).toBe(1);
    session.close();
    expect(clock.pending()).toBe(0);
  });
});

describe('MqttSession subscriptions', () => {
  it('subscribes, surfaces SUBACK 0x80, and restores only granted filters after reconnect', async () => {
    const { clock, connector, session } = setup();
    session.start();
    accept(connector.last);
    connector.last.take();
    const ok = session.subscribeAsync('v1/devices/me/rpc/request/+', 1);
    const bad = session.subscribeAsync('not/allowed', 1);
    await flushMicrotasks();
    const [s1, s2] = connector.last.take().map(parse);
    expect(s1).toMatchObject({ cmd: 'subscribe', subscriptions: [{ topic: 'v1/devices/me/rpc/request/+', qos: 1 }] });
    connector.last.receive([0x90, 3, s1.messageId >> 8, s1.messageId & 0xff, 1]);
    connector.last.receive([0x90, 3, s2.messageId >> 8, s2.messageId & 0xff, 0x80]);
    await ok;
    await expect(bad).rejects.toMatchObject({ code: 'subscribe-refused' });
    connector.last.drop();
    clock.advance(1000);
    accept(connector.last);
    await flushMicrotasks(); // restored from the delivery job
    const restored = connector.last.written.slice(1).map(parse);
    expect(restored.map((p) => p.subscriptions[0].topic)).toEqual(['v1/devices/me/rpc/request/+']);
  });

  it('a subscribe made while offline is sent on connect and completes on its SUBACK', async () => {
    const { connector, session } = setup();
    session.start();
    let done = false;
    session.subscribe('a/b', 1, () => (done = true));
    accept(connector.last);
    await flushMicrotasks();
    const sub = parse(connector.last.written[1]);
    expect(done).toBe(false);
    connector.last.receive([0x90, 3, 0, sub.messageId, 1]);
    expect(done).toBe(true);
  });

  it('refuses QoS 2 and invalid filters', async () => {
    const { session } = setup();
    await expect(session.subscribeAsync('a/#/b')).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(session.subscribe('a', 2 as never)).toBe(false);
  });

  it('unsubscribe sends UNSUBSCRIBE and stops restoring', async () => {
    const { clock, connector, session } = setup();
    session.start();
    session.subscribe('a', 1);
    accept(connector.last);
    await flushMicrotasks();
    const sub = parse(connector.last.written[1]);
    connector.last.receive([0x90, 3, 0, sub.messageId, 1]);
    let done = false;
    session.unsubscribe('a', () => (done = true));
    await flushMicrotasks();
    const unsub = parse(connector.last.written[2]);
    expect(unsub).toMatchObject({ cmd: 'unsubscribe', unsubscriptions: ['a'] });
    connector.last.receive([0xb0, 2, 0, unsub.messageId]);
    expect(done).toBe(true);
    connector.last.drop();
    clock.advance(1000);
    accept(connector.last);
    expect(connector.last.written.length).toBe(1);
  });
});

describe('MqttSession inbound', () => {
  it('acknowledges QoS 1 after the handler accepted it, and repeats again', async () => {
    const { connector, session } = setup();
    const got: string[] = [];
    session.events.on('message', (topic, payload, info) => {
      got.push(topic + '=' + Buffer.from(payload).toString() + (info.dup ? ' dup' : ''));
    });
    session.start();
    accept(connector.last);
    connector.last.take();
    const msg = pkt({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/0', payload: '{}', qos: 1, messageId: 42 });
    connector.last.receive(msg);
    connector.last.receive(pkt({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/0', payload: '{}', qos: 1, messageId: 42, dup: true }));
    // The handler runs in the delivery job, and the PUBACK goes out after it.
    expect(got).toEqual([]);
    expect(connector.last.written).toEqual([]);
    await flushMicrotasks();
    expect(got).toEqual(['v1/devices/me/rpc/request/0={}', 'v1/devices/me/rpc/request/0={} dup']);
    expect(connector.last.take().map((b) => Array.from(b))).toEqual([puback(42), puback(42)]);
  });

  it('a handler returning a promise delays the PUBACK; a refusal or a throw sends none', async () => {
    const { connector, session, errors } = setup();
    let release!: () => void;
    let mode = 'async';
    session.events.on('message', () => {
      if (mode === 'async') return new Promise<void>((r) => (release = r));
      if (mode === 'refuse') return false;
      throw new Error('handler bug');
    });
    session.start();
    accept(connector.last);
    connector.last.take();
    connector.last.receive(pkt({ cmd: 'publish', topic: 'a', payload: 'x', qos: 1, messageId: 1 }));
    await flushMicrotasks();
    expect(connector.last.take()).toEqual([]);
    release();
    await flushMicrotasks();
    expect(connector.last.take().map((b) => Array.from(b))).toEqual([puback(1)]);
    mode = 'refuse';
    connector.last.receive(pkt({ cmd: 'publish', topic: 'a', payload: 'x', qos: 1, messageId: 2 }));
    await flushMicrotasks();
    mode = 'throw';
    connector.last.receive(pkt({ cmd: 'publish', topic: 'a', payload: 'x', qos: 1, messageId: 3 }));
    await flushMicrotasks();
    expect(connector.last.take()).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['handler']);
    expect(session.connected).toBe(true);
  });

  it('refuses inbound QoS 1 beyond the pending-handler cap instead of growing', async () => {
    const { connector, session, errors } = setup({ maxPendingInbound: 2 });
    session.events.on('message', () => new Promise(() => {}));
    session.start();
    accept(connector.last);
    for (let i = 1; i <= 5; i++) connector.last.receive(pkt({ cmd: 'publish', topic: 'a', payload: 'x', qos: 1, messageId: i }));
    await flushMicrotasks();
    expect(session.stats.pendingInbound).toBe(2);
    expect(errors.filter((e) => e.code === 'queue-full').length).toBe(3);
    expect(connector.last.types().filter((t) => t === 4)).toEqual([]); // no PUBACK while handlers run
  });

  it('a burst of PUBLISHes in one socket read, more than the cap, is delivered whole (read on after each delivery job)', async () => {
    const { connector, session, errors } = setup({ maxPendingInbound: 4 });
    const got: string[] = [];
    session.events.on('message', (_t, payload) => void got.push(String.fromCharCode(...payload)));
    session.start();
    accept(connector.last);
    const burst: number[] = [];
    for (let i = 1; i <= 20; i++) burst.push(...pkt({ cmd: 'publish', topic: 'b', payload: String(i), qos: 1, messageId: i }));
    const chunk = Uint8Array.from(burst);
    connector.last.handlers.onData(chunk);
    chunk.fill(0); // the socket may reuse its buffer: the session kept a copy of what it had not read
    for (let i = 0; i < 10 && got.length < 20; i++) await flushMicrotasks();
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    expect(errors).toEqual([]);
    expect(connector.last.types().filter((t) => t === 4)).toHaveLength(20);
  });

  it('a read that is one whole packet (1- and 2-byte lengths) is delivered like one cut by the framer, from its own copy', async () => {
    const { connector, session, errors } = setup({ maxPacketBytes: 1000 });
    const got: string[] = [];
    session.events.on('message', (t, payload) => void got.push(t + ':' + payload.length + ':' + payload[payload.length - 1]));
    session.start();
    accept(connector.last);
    connector.last.take();
    const sizes = [0, 60, 200, 900];
    for (let i = 0; i < sizes.length; i++) {
      const read = pkt({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/' + i, payload: Buffer.alloc(sizes[i], 0x41 + i), qos: 1, messageId: i + 1 });
      connector.last.handlers.onData(read);
      read.fill(0); // the socket may reuse its buffer
    }
    // The same packets split across reads, and two in one read, go the framer's way.
    const two = [...pkt({ cmd: 'publish', topic: 't/a', payload: 'x', qos: 0 }), ...pkt({ cmd: 'publish', topic: 't/b', payload: 'yy', qos: 0 })];
    connector.last.receive(two.slice(0, 3));
    connector.last.receive(two.slice(3));
    await flushMicrotasks();
    expect(got).toEqual(['v1/devices/me/rpc/request/0:0:undefined', 'v1/devices/me/rpc/request/1:60:66', 'v1/devices/me/rpc/request/2:200:67', 'v1/devices/me/rpc/request/3:900:68', 't/a:1:120', 't/b:2:121']);
    expect(connector.last.take().map((b) => Array.from(b))).toEqual([puback(1), puback(2), puback(3), puback(4)]);
    expect(errors).toEqual([]);
    // Whole, but over the cap (1,001 bytes) or with a non-minimal length: refused all the same.
    connector.last.receive(pkt({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(994), qos: 0 }));
    expect(errors.map((e) => e.code)).toEqual(['packet-too-large']);
  });

  it('a packet read whole and the same packet read a byte at a time end the same way (300 random, some mutated)', async () => {
    const rand = mulberry32(11);
    const outcome = async (bytes: Uint8Array, whole: boolean) => {
      const { connector, session, errors } = setup({ maxPacketBytes: 300 });
      const got: string[] = [];
      session.events.on('message', (t, payload, info) => void got.push(t + '|' + Buffer.from(payload).toString('hex') + '|' + info.qos + info.dup + info.retain));
      session.start();
      accept(connector.last);
      connector.last.take();
      if (whole) connector.last.handlers.onData(bytes.slice());
      else for (const b of bytes) connector.last.receive([b]);
      await flushMicrotasks();
      return JSON.stringify({ got, errors: errors.map((e) => e.code), written: connector.last.take().map((b) => Array.from(b)), closed: connector.last.closed });
    };
    for (let i = 0; i < 300; i++) {
      const kind = Math.floor(rand() * 4);
      const qos = rand() < 0.5 ? 0 : 1;
      const base =
        kind === 0 ? pkt({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/' + i, payload: Buffer.alloc(Math.floor(rand() * 320), 0x30 + (i % 10)), qos, messageId: qos ? i + 1 : undefined, retain: rand() < 0.2 })
        : kind === 1 ? pkt({ cmd: 'suback', messageId: i + 1, granted: [1] })
        : kind === 2 ? pkt({ cmd: 'puback', messageId: i })
        : pkt({ cmd: 'pingresp' });
      const bytes = base.slice();
      // A third of them with a byte flipped: type and flags, length, or body.
      if (rand() < 0.33) bytes[Math.floor(rand() * bytes.length)] ^= 1 << Math.floor(rand() * 8);
      expect(await outcome(bytes, true), 'frame ' + Buffer.from(bytes).toString('hex')).toBe(await outcome(bytes, false));
    }
  });

  it('a whole-read packet with a non-minimal remaining length (80 00) is malformed', () => {
    const { connector, session, errors } = setup();
    session.start();
    accept(connector.last);
    connector.last.receive([0xd0, 0x80, 0x00]);
    expect(errors.map((e) => e.code)).toEqual(['malformed']);
    expect(connector.last.closed).toBe(true);
  });

  it('closes and reconnects with a fresh parser after a malformed packet, then works', async () => {
    const { clock, connector, session, errors } = setup();
    const got: string[] = [];
    session.events.on('message', (t) => void got.push(t));
    session.start();
    accept(connector.last);
    connector.last.receive([0x32, 5, 0, 1, 0x61, 0, 0, 0x30]); // QoS 1 id 0, then a stray byte
    expect(errors[0].code).toBe('malformed');
    expect(connector.sockets[0].closed).toBe(true);
    clock.advance(1000);
    accept(connector.last);
    connector.last.receive(pkt({ cmd: 'publish', topic: 'ok', payload: '', qos: 0 }));
    await flushMicrotasks();
    expect(got).toEqual(['ok']);
  });

  it('an oversized inbound packet closes the connection', () => {
    const { connector, session, errors } = setup({ maxPacketBytes: 1000 });
    session.start();
    accept(connector.last);
    connector.last.receive([0x30, 0xe9, 0x07]); // remaining length 1001: no body needed to refuse it
    expect(errors[0].code).toBe('packet-too-large');
    expect(connector.last.closed).toBe(true);
  });

  it('keepalive: PINGREQ when idle, reconnect when PINGRESP never comes', async () => {
    const { clock, connector, session, errors } = setup({ keepaliveSeconds: 10 });
    session.start();
    accept(connector.last);
    connector.last.take();
    clock.advance(10_000);
    await flushMicrotasks();
    expect(connector.last.take().map((b) => Array.from(b))).toEqual([[0xc0, 0]]);
    connector.last.receive([0xd0, 0]);
    clock.advance(10_000);
    await flushMicrotasks();
    expect(connector.last.take().map((b) => Array.from(b))).toEqual([[0xc0, 0]]);
    clock.advance(5_000);
    expect(errors.map((e) => e.code)).toEqual(['keepalive-timeout']);
    expect(connector.last.closed).toBe(true);
    clock.advance(1000);
    expect(connector.sockets.length).toBe(2);
  });
});
});
}

describe('MqttSession protocol edges', () => {
  function withLog() {
    const lines: string[] = [];
    const log = { debug: () => {}, info: () => {}, warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
    return { lines, ...setup({ log }) };
  }

  it('a CONNACK claiming a session for a clean-session CONNECT closes and reconnects [MQTT-3.2.2-1]', () => {
    const { clock, connector, session, errors } = setup();
    session.start();
    connector.last.open();
    connector.last.receive([0x20, 2, 1, 0]);
    expect(session.connected).toBe(false);
    expect(errors.map((e) => e.code)).toEqual(['protocol']);
    expect(errors[0].message).toMatch(/session is present/);
    expect(connector.last.closed).toBe(true);
    clock.advance(1000);
    expect(connector.sockets).toHaveLength(2);
    accept(connector.last);
    expect(session.connected).toBe(true);
  });

  it('a PUBREL for an unknown id gets PUBCOMP and keeps the connection; logged once', async () => {
    const { connector, session, errors, lines } = withLog();
    session.start();
    accept(connector.last);
    connector.last.take();
    connector.last.receive([0x62, 2, 0, 7]);
    connector.last.receive([0x62, 2, 0, 8]);
    await flushMicrotasks();
    expect(connector.last.written.map((b) => Array.from(b))).toEqual([
      [0x70, 2, 0, 7],
      [0x70, 2, 0, 8],
    ]);
    expect(pkt({ cmd: 'pubcomp', messageId: 7 })).toEqual(Uint8Array.from([0x70, 2, 0, 7]));
    expect(session.connected).toBe(true);
    expect(errors).toEqual([]);
    expect(lines.filter((l) => /PUBREL/.test(l))).toHaveLength(1);
  });

  it('PUBREC and PUBCOMP for ids it never used are ignored; for a QoS 1 publish in flight they close', async () => {
    const { connector, session, errors, lines } = withLog();
    session.start();
    accept(connector.last);
    connector.last.receive([0x50, 2, 0, 40]);
    connector.last.receive([0x70, 2, 0, 41]);
    await flushMicrotasks();
    expect(session.connected).toBe(true);
    expect(errors).toEqual([]);
    expect(lines.filter((l) => /PUBREC|PUBCOMP/.test(l))).toHaveLength(1); // once a session
    session.publish('t', 'x', { qos: 1 });
    await flushMicrotasks();
    const sent = parse(connector.last.written[connector.last.written.length - 1]);
    expect(sent.cmd).toBe('publish');
    connector.last.receive([0x50, 2, sent.messageId >> 8, sent.messageId & 0xff]);
    expect(session.connected).toBe(false);
    expect(errors.map((e) => e.code)).toEqual(['protocol']);
    expect(errors[0].message).toMatch(/PUBREC for QoS 1 packet/);
  });

  it('malformed QoS 2 acknowledgements still close', () => {
    const { connector, session, errors } = setup();
    session.start();
    accept(connector.last);
    connector.last.receive([0x60, 2, 0, 7]); // PUBREL without its 0010 flags
    expect(errors.map((e) => e.code)).toEqual(['malformed']);
    expect(connector.last.closed).toBe(true);
  });

  it('a PUBLISH whose topic has a control character closes the connection', async () => {
    const { connector, session, errors } = setup();
    const got: string[] = [];
    session.events.on('message', (topic) => void got.push(topic));
    session.start();
    accept(connector.last);
    connector.last.receive(pkt({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/\u0007', payload: '{}', qos: 1, messageId: 3 }));
    await flushMicrotasks();
    expect(got).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['protocol']);
    expect(connector.last.closed).toBe(true);
    expect(connector.last.types().filter((t) => t === 4)).toEqual([]); // no PUBACK
  });
});

describe('MqttSession PUBACK timeout', () => {
  it('reconnects and resends with DUP when a publish gets no PUBACK on a link that still answers pings', async () => {
    const { clock, connector, session, errors } = setup({ keepaliveSeconds: 5, ackTimeoutMs: 20_000 });
    session.start();
    accept(connector.last);
    connector.last.take();
    let done: string | undefined = 'pending';
    session.publish('t', 'lost-ack', { qos: 1 }, (e) => (done = e?.code));
    await flushMicrotasks();
    const first = parse(connector.last.take()[0]);
    // The server answers every PINGREQ but never this PUBACK.
    for (let t = 0; t < 19; t++) {
      clock.advance(1000);
      await flushMicrotasks();
      for (const b of connector.last.take()) if (b[0] === 0xc0) connector.last.receive([0xd0, 0]);
    }
    expect(session.connected).toBe(true);
    clock.advance(1000);
    expect(errors.map((e) => e.code)).toEqual(['ack-timeout']);
    expect(connector.last.closed).toBe(true);
    clock.advance(1000);
    accept(connector.last);
    const resent = parse(connector.last.written[1]);
    expect(resent).toMatchObject({ messageId: first.messageId, dup: true, payload: Buffer.from('lost-ack') });
    connector.last.receive([0x40, 2, first.messageId >> 8, first.messageId & 0xff]);
    expect(done).toBeUndefined();
  });

  it('does not fire while PUBACKs keep coming, and leaves no timer behind', async () => {
    const { clock, connector, session, errors } = setup({ keepaliveSeconds: 0, ackTimeoutMs: 5000 });
    session.start();
    accept(connector.last);
    connector.last.take();
    for (let i = 0; i < 50; i++) {
      session.publish('t', String(i), { qos: 1 });
      await flushMicrotasks();
      const p = parse(connector.last.take()[0]);
      clock.advance(1000);
      connector.last.receive([0x40, 2, p.messageId >> 8, p.messageId & 0xff]);
    }
    expect(errors).toEqual([]);
    clock.advance(10_000);
    expect(clock.pending()).toBe(0);
  });
});
