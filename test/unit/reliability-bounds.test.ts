/**
 * Memory bounds under long outages and inbound floods (issue 6), on a fake clock and fake sockets:
 * offline queue, in-flight store, DeviceClient pending requests, pending inbound handlers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttError } from '../../src/mqtt/errors';
import { MqttSession, type MqttSessionOptions } from '../../src/mqtt/session';
import { DeviceClient } from '../../src/thingsboard/device-client';
import type { TbError } from '../../src/thingsboard/errors';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';
import { FakeConnector, type FakeSocket } from '../support/fake-connector';

const CONNACK_OK = [0x20, 2, 0, 0];

function publishFrame(topic: string, payload: string, qos: 0 | 1, id = 0): Uint8Array {
  const t = Buffer.from(topic);
  const p = Buffer.from(payload);
  const body = [t.length >> 8, t.length & 0xff, ...t, ...(qos ? [id >> 8, id & 0xff] : []), ...p];
  return Uint8Array.from([0x30 | (qos << 1), body.length, ...body]);
}

const isPuback = (b: Uint8Array) => b[0] === 0x40;

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function setup(extra: Partial<MqttSessionOptions> = {}) {
  const clock = new FakeClock();
  const connector = new FakeConnector();
  const errors: MqttError[] = [];
  const session = new MqttSession({
    connector,
    clock,
    host: 'tb.local',
    port: 1883,
    clientId: 'bounds',
    username: 'TOKEN',
    random: () => 0.5,
    keepaliveSeconds: 30,
    ...extra,
  });
  session.events.on('error', (e) => errors.push(e));
  cleanup.push(() => session.close());
  return { clock, connector, session, errors };
}

function accept(socket: FakeSocket): void {
  socket.open();
  socket.receive(CONNACK_OK);
}

/** The broker is back: waits (fake time) for the next attempt and accepts it. */
function brokerBack(connector: FakeConnector, clock: FakeClock): FakeSocket {
  for (let i = 0; i < 10 && connector.last.closed; i++) {
    const at = clock.nextAt();
    if (at === undefined) break;
    clock.advance(at - clock.now());
  }
  accept(connector.last);
  return connector.last;
}

/** The broker is unreachable: every connection attempt fails at once (as ECONNREFUSED does). */
function refuseEverything(connector: FakeConnector, clock: FakeClock, ms: number, each?: () => void): number {
  let attempts = 0;
  const end = clock.now() + ms;
  while (clock.now() < end) {
    const s = connector.sockets[connector.sockets.length - 1];
    if (s && !s.closed) {
      attempts++;
      s.drop(new Error('ECONNREFUSED'));
    }
    if (each) each();
    const at = clock.nextAt();
    if (at === undefined || at > end) break;
    clock.advance(at - clock.now());
  }
  clock.advance(Math.max(0, end - clock.now()));
  return attempts;
}

describe('broker unreachable for a long time', () => {
  it('offline queue stays within its message and byte caps; every refused publish is reported to its caller', () => {
    const { clock, connector, session } = setup({ maxQueuedMessages: 20, maxQueuedBytes: 1500, maxInflight: 4, reconnect: { initialMs: 1000, maxMs: 60_000 } });
    session.start();
    const outcome = new Map<number, string>();
    let n = 0;
    let peakQueued = 0;
    let peakBytes = 0;
    // 6 hours offline, 10 publishes (QoS 0 and 1, varying sizes) per fake minute.
    const attempts = refuseEverything(connector, clock, 6 * 3600_000, () => {
      for (let k = 0; k < 10; k++) {
        const i = n++;
        session.publish('v1/devices/me/telemetry', JSON.stringify({ seq: i, pad: 'x'.repeat(i % 90) }), { qos: i % 3 === 0 ? 0 : 1 }, (e) =>
          outcome.set(i, e ? e.code : 'ok'),
        );
        peakQueued = Math.max(peakQueued, session.stats.queued);
        peakBytes = Math.max(peakBytes, session.stats.queuedBytes);
      }
      expect(clock.pending()).toBeLessThanOrEqual(2); // one reconnect (or connect-timeout) timer, never a pile
    });
    expect(attempts).toBeGreaterThan(300); // backoff caps at 60 s: it kept trying all along
    expect(n).toBeGreaterThan(3000);
    expect(peakQueued).toBeLessThanOrEqual(20);
    expect(peakBytes).toBeLessThanOrEqual(1500);
    expect(session.stats.inflight).toBe(0);
    // Each publish not kept was refused at once, through its own callback, with 'queue-full'.
    const queued = session.stats.queued;
    expect(outcome.size).toBe(n - queued);
    expect([...outcome.values()].every((c) => c === 'queue-full')).toBe(true);

    // The broker comes back: exactly the kept ones are delivered, in order, each completing once.
    brokerBack(connector, clock);
    const delivered: number[] = [];
    for (let round = 0; round < 100 && delivered.length < queued; round++) {
      for (const b of connector.last.take()) {
        if (b[0] >> 4 !== 3) continue;
        const body = Buffer.from(b.subarray(2));
        const qos = (b[0] >> 1) & 3;
        const topicLength = body.readUInt16BE(0);
        const payload = body.subarray(2 + topicLength + (qos ? 2 : 0)).toString();
        delivered.push(JSON.parse(payload).seq);
        if (qos) connector.last.receive([0x40, 2, body[2 + topicLength], body[3 + topicLength]]);
      }
    }
    expect(delivered.length).toBe(queued);
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
    expect(delivered.every((i) => outcome.get(i) === 'ok')).toBe(true);
    expect(outcome.size).toBe(n);
  });

  it('in-flight store stays within maxInflight through an outage and is resent (DUP) on return', async () => {
    const { clock, connector, session } = setup({ maxQueuedMessages: 10, maxQueuedBytes: 4096, maxInflight: 3, reconnect: { initialMs: 500, maxMs: 30_000 } });
    session.start();
    accept(connector.last);
    const results: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++) session.publish('t', 'm' + i, { qos: 1 }, (e) => results.push(e?.code));
    await flushMicrotasks(); // publishes reach the wire (and the in-flight store) in the flush job
    expect(session.stats).toMatchObject({ inflight: 3, queued: 3 });
    connector.last.drop(new Error('link down'));
    let extra = 0;
    refuseEverything(connector, clock, 3600_000, () => {
      session.publish('t', 'late' + extra++, { qos: 1 }, (e) => results.push(e?.code));
      expect(session.stats.inflight).toBeLessThanOrEqual(3);
      expect(session.stats.queued).toBeLessThanOrEqual(10);
    });
    expect(session.stats).toMatchObject({ inflight: 3, queued: 10 });
    expect(results.length).toBe(6 + extra - 13); // refused ones only (3 in flight + 10 queued kept), each reported
    expect(results.every((c) => c === 'queue-full')).toBe(true);
    brokerBack(connector, clock);
    const publishes = connector.last.take().filter((b) => b[0] >> 4 === 3);
    // The 3 in flight go first, with DUP, then the window is full again.
    expect(publishes.length).toBe(3);
    expect(publishes.every((b) => (b[0] & 0x08) !== 0)).toBe(true);
  });

  it('DeviceClient attribute requests and client RPCs stay within maxPendingRequests; each extra one fails at once; timeouts free them', async () => {
    const { clock, connector, session } = setup({ maxQueuedMessages: 64, maxQueuedBytes: 16_384 });
    const client = new DeviceClient({ session, clock, requestTimeoutMs: 5000, maxPendingRequests: 4 });
    cleanup.push(() => client.close());
    session.start();
    const codes: string[] = [];
    const track = (p: Promise<unknown>) =>
      p.then(
        () => codes.push('ok'),
        // DeviceClient reports a request whose publish the full offline queue refused as 'not-sent'
        // with the session's queue-full error as its cause: count those as queue-full.
        (e: TbError | MqttError) => codes.push(e.code === 'not-sent' && /queue-full/.test(e.message) ? 'queue-full' : e.code),
      );
    let peakAttr = 0;
    let peakRpc = 0;
    refuseEverything(connector, clock, 10 * 60_000, () => {
      for (let k = 0; k < 3; k++) {
        track(client.requestAttributes({ sharedKeys: ['a'] }));
        track(client.callRpc('getTime'));
      }
      peakAttr = Math.max(peakAttr, (client as any).attributeRequests_.size);
      peakRpc = Math.max(peakRpc, (client as any).rpcCalls_.size);
      expect(session.stats.queued).toBeLessThanOrEqual(64);
    });
    await flushMicrotasks();
    expect(peakAttr).toBe(4);
    expect(peakRpc).toBe(4);
    expect(codes.length).toBeGreaterThan(100);
    expect(new Set(codes)).toEqual(new Set(['too-many-pending', 'timeout', 'queue-full']));
    expect(codes.filter((c) => c === 'timeout').length).toBeGreaterThan(10); // slots came free
    // Only the timers of pending requests and the reconnect remain: nothing accumulates.
    expect(clock.pending()).toBeLessThanOrEqual(4 + 4 + 2);
  });
});

describe('inbound floods faster than the handlers finish', () => {
  it('QoS 1 flood with slow handlers: pending handlers capped, extra messages refused (no PUBACK), PUBACKs once handlers finish', async () => {
    const { connector, session, errors } = setup({ maxPendingInbound: 8 });
    const releases: (() => void)[] = [];
    session.events.on('message', () => new Promise<void>((r) => releases.push(r)));
    session.start();
    accept(connector.last);
    connector.last.take();
    // One socket read per event-loop turn, as on Node and Moddable: the delivery job runs between.
    for (let i = 1; i <= 10_000; i++) {
      connector.last.receive(publishFrame('cmd', 'x' + i, 1, (i % 65535) + 1));
      await flushMicrotasks();
    }
    expect(session.stats.pendingInbound).toBe(8);
    expect(releases.length).toBe(8); // the handler ran only for the ones accepted
    expect(errors.filter((e) => e.code === 'queue-full').length).toBe(10_000 - 8);
    expect(connector.last.take().filter(isPuback)).toEqual([]);
    for (const r of releases.splice(0)) r();
    await flushMicrotasks();
    expect(session.stats.pendingInbound).toBe(0);
    expect(connector.last.take().filter(isPuback).length).toBe(8);
  });

  it('a flood faster than the delivery jobs run: held bytes bounded by maxPacketBytes, then the connection is dropped (queue-full), not grown', async () => {
    const { connector, session, errors } = setup({ maxPendingInbound: 8, maxPacketBytes: 4096 });
    session.events.on('message', () => undefined);
    session.start();
    accept(connector.last);
    const socket = connector.last;
    for (let i = 0; i < 2000 && !socket.closed; i++) socket.receive(publishFrame('cmd', 'x' + i, 0));
    expect(socket.closed).toBe(true);
    expect(errors.some((e) => e.code === 'queue-full' && /faster than the message handlers/.test(e.message))).toBe(true);
    await flushMicrotasks();
  });

  it('QoS 0 flood with async handlers: pending handlers are capped too and extra messages dropped and reported', async () => {
    const { connector, session, errors } = setup({ maxPendingInbound: 8 });
    let started = 0;
    const releases: (() => void)[] = [];
    session.events.on('message', () => {
      started++;
      return new Promise<void>((r) => releases.push(r));
    });
    session.start();
    accept(connector.last);
    for (let i = 0; i < 10_000; i++) {
      connector.last.receive(publishFrame('cmd', 'x' + i, 0));
      await flushMicrotasks();
    }
    expect(started).toBe(8);
    expect(session.stats.pendingInbound).toBe(8);
    expect(errors.filter((e) => e.code === 'queue-full').length).toBe(10_000 - 8);
    for (const r of releases.splice(0)) r();
    await flushMicrotasks();
    expect(session.stats.pendingInbound).toBe(0);
    connector.last.receive(publishFrame('cmd', 'again', 0));
    await flushMicrotasks();
    expect(started).toBe(9);
  });

  it('a QoS 0 handler whose promise rejects is reported as a handler error, not left as an unhandled rejection', async () => {
    const { connector, session, errors } = setup();
    session.events.on('message', () => Promise.reject(new Error('handler broke')));
    session.start();
    accept(connector.last);
    connector.last.receive(publishFrame('cmd', 'x', 0));
    await flushMicrotasks();
    expect(errors.map((e) => e.code)).toEqual(['handler']);
    expect(session.stats.pendingInbound).toBe(0);
    expect(session.connected).toBe(true);
  });

  it('handlers that never finish cannot pile up across reconnects: the cap holds over the session, not per connection', async () => {
    const { clock, connector, session } = setup({ maxPendingInbound: 4, reconnect: { initialMs: 100, maxMs: 100 } });
    let started = 0;
    session.events.on('message', () => {
      started++;
      return new Promise<void>(() => {});
    });
    session.start();
    for (let round = 0; round < 20; round++) {
      accept(connector.last);
      for (let i = 1; i <= 50; i++) connector.last.receive(publishFrame('cmd', 'x', 1, i));
      await flushMicrotasks(); // the handlers run in the delivery job
      connector.last.drop(new Error('server dropped us'));
      clock.advance(100);
    }
    expect(started).toBe(4);
    expect(session.stats.pendingInbound).toBe(4);
  });
});
