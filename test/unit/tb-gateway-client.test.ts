import { generate, parser as createParser } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSession } from '../../src/mqtt/session';
import { GatewayClient, type GatewayClientOptions } from '../../src/thingsboard/gateway-client';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';
import { FakeConnector, type FakeSocket } from '../support/fake-connector';

function parseAll(bytes: Uint8Array): any[] {
  const p = createParser();
  const out: any[] = [];
  p.on('packet', (x) => out.push(x));
  p.parse(Buffer.from(bytes));
  return out;
}

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function setup(options: Partial<GatewayClientOptions> = {}) {
  const clock = new FakeClock();
  const connector = new FakeConnector();
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m) };
  const session = new MqttSession({ connector, clock, host: 'h', port: 1, clientId: 'gw', username: 'GW', random: () => 0, reconnect: { initialMs: 1000, jitter: 0 } });
  const gateway = new GatewayClient({ session, clock, log, requestTimeoutMs: 5000, sessionLimits: false, ...options });
  closers.push(() => {
    gateway.close();
    session.close();
  });
  session.start();
  let socket!: FakeSocket;
  let packetId = 100;
  /**
   * Opens the current socket, answers CONNACK and every SUBACK, and lets the session deliver its
   * 'connect' event (in a job of its own); returns the subscribed filters.
   */
  const handshake = async (): Promise<string[]> => {
    socket = connector.last;
    socket.open();
    socket.receive([0x20, 2, 0, 0]);
    await flushMicrotasks(); // the SUBSCRIBEs go out from the session's delivery job
    const packets = socket.take().flatMap(parseAll);
    const subs = packets.filter((p) => p.cmd === 'subscribe');
    for (const s of subs) socket.receive([0x90, 3, s.messageId >> 8, s.messageId & 0xff, 1]);
    // publishes made during the handshake (announcements) stay for sent()
    for (const p of packets.filter((x) => x.cmd === 'publish')) pendingPublishes.push(p);
    await flushMicrotasks();
    return subs.map((s) => s.subscriptions[0].topic as string);
  };
  const pendingPublishes: any[] = [];
  /**
   * PUBLISH packets the client wrote since the last call, acknowledged (unless ack = false). The
   * session writes in a flush job and delivers in a job of its own, so the microtasks run first.
   */
  const sent = async (ack = true) => {
    await flushMicrotasks();
    const packets = [...pendingPublishes.splice(0), ...socket.take().flatMap(parseAll).filter((p) => p.cmd === 'publish')];
    return packets.map((p) => {
      if (ack && p.qos === 1) socket.receive([0x40, 2, p.messageId >> 8, p.messageId & 0xff]);
      return { topic: p.topic as string, body: JSON.parse(p.payload.toString()) };
    });
  };
  /** The server publishes; its listeners run in the session's delivery job (flush before looking). */
  const serverPublish = (topic: string, payload: string | object, dup = false) =>
    socket.receive(
      generate({ cmd: 'publish', topic, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), qos: 1, messageId: packetId++, dup } as never),
    );
  const subs = await handshake();
  return { clock, connector, session, gateway, subs, sent, serverPublish, warnings, handshake, socket: () => socket };
}

describe('GatewayClient', () => {
  it('a child connected between the CONNACK and the connect event is announced once', async () => {
    const clock = new FakeClock();
    const connector = new FakeConnector();
    const session = new MqttSession({ connector, clock, host: 'h', port: 1, clientId: 'gw', username: 'GW', random: () => 0 });
    const gateway = new GatewayClient({ session, clock, sessionLimits: false });
    closers.push(() => {
      gateway.close();
      session.close();
    });
    session.start();
    const socket = connector.last;
    socket.open();
    socket.receive([0x20, 2, 0, 0]);
    expect(session.connected).toBe(true); // the CONNACK is in; its 'connect' listeners run in a job
    gateway.connectDevice('early');
    await flushMicrotasks();
    const announces = socket.take().flatMap(parseAll).filter((x) => x.cmd === 'publish' && x.topic === 'v1/gateway/connect');
    expect(announces.map((x) => JSON.parse(x.payload.toString()).device)).toEqual(['early']);
  });

  it('subscribes to the gateway filters and, through its device client, the device filters, once each', async () => {
    const { subs } = await setup();
    expect(subs.sort()).toEqual([
      'v1/devices/me/attributes',
      'v1/devices/me/attributes/response/+',
      'v1/devices/me/rpc/request/+',
      'v1/devices/me/rpc/response/+',
      'v1/gateway/attributes',
      'v1/gateway/attributes/response',
      'v1/gateway/rpc',
    ]);
  });

  it('connects children with an optional type; the same name gives the same handle; bad input throws TbError', async () => {
    const { gateway, sent } = await setup({ maxChildren: 3 });
    const a = gateway.connectDevice('A', 'thermometer');
    const b = gateway.connectDevice('B');
    expect(gateway.connectDevice('A')).toBe(a);
    expect(await sent()).toEqual([
      { topic: 'v1/gateway/connect', body: { device: 'A', type: 'thermometer' } },
      { topic: 'v1/gateway/connect', body: { device: 'B' } },
    ]);
    expect(a.name).toBe('A');
    expect(a.type).toBe('thermometer');
    expect(b.connected).toBe(true);
    expect(() => gateway.connectDevice('')).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
    expect(() => gateway.connectDevice(42 as never)).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
    expect(() => gateway.connectDevice('x'.repeat(256))).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
    expect(() => gateway.connectDevice('C', '')).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
    gateway.connectDevice('C');
    expect(() => gateway.connectDevice('D')).toThrow(expect.objectContaining({ code: 'invalid-argument' }));
    expect(gateway.childNames()).toEqual(['A', 'B', 'C']);
  });

  it('announces a few children at a time and every child again after a reconnect', async () => {
    const { gateway, sent, clock, handshake, socket } = await setup({ announceWindow: 4 });
    for (let i = 0; i < 10; i++) gateway.connectDevice('c' + i);
    // Four await their PUBACK; each PUBACK lets the next one go.
    const first = await sent(false);
    expect(first.map((m) => m.body.device)).toEqual(['c0', 'c1', 'c2', 'c3']);
    socket().take();
    expect(gateway.stats.announcing).toBe(6);
    socket().drop(new Error('link down'));
    expect(gateway.connected).toBe(false);
    expect(gateway.child('c1')!.connected).toBe(false);
    clock.advance(1000);
    await handshake();
    const announced: string[] = [];
    for (let round = 0; round < 10 && announced.length < 14; round++) {
      for (const m of await sent()) if (m.topic === 'v1/gateway/connect') announced.push(m.body.device);
    }
    // The 4 unacknowledged connects are resent (DUP) by the session, then all 10 are announced again.
    expect(announced.slice(4).sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'].sort());
    expect(gateway.stats.announcing).toBe(0);
    expect(gateway.child('c1')!.connected).toBe(true);
  });

  it('telemetry for many children goes in one QoS 1 message; single entries are wrapped', async () => {
    const { gateway, sent, socket } = await setup();
    gateway.connectDevice('D1');
    gateway.connectDevice('D2');
    await sent();
    const p = gateway.sendTelemetry({ D1: { temperature: 21 }, D2: [{ ts: 1700000000000, values: { humidity: 40 } }, { humidity: 41 }] });
    await flushMicrotasks();
    const written = socket().written.slice();
    const msgs = await sent();
    expect(msgs).toEqual([
      {
        topic: 'v1/gateway/telemetry',
        body: { D1: [{ temperature: 21 }], D2: [{ ts: 1700000000000, values: { humidity: 40 } }, { humidity: 41 }] },
      },
    ]);
    expect(parseAll(written[0])[0].qos).toBe(1);
    await p;
    const q = gateway.sendAttributes({ D1: { fw: '1.0' }, D2: { fw: '1.1' } });
    expect(await sent()).toEqual([{ topic: 'v1/gateway/attributes', body: { D1: { fw: '1.0' }, D2: { fw: '1.1' } } }]);
    await q;
    await expect(gateway.sendTelemetry({ D3: { a: 1 } })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(gateway.sendTelemetry({})).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(gateway.sendTelemetry({ D1: [] })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(gateway.sendTelemetry([] as never)).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(gateway.sendAttributes({ D1: {} })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(gateway.sendAttributes({ D1: 5 as never })).rejects.toMatchObject({ code: 'invalid-argument' });
    expect(await sent()).toEqual([]);
  });

  it('children sending in the same tick share one message; each child sends only its own data', async () => {
    const { gateway, sent, socket } = await setup();
    const [a, b, c] = ['A', 'B', 'C'].map((n) => gateway.connectDevice(n));
    await sent();
    const ps = [a.sendTelemetry({ t: 1 }), b.sendTelemetry([{ t: 2 }, { ts: 5, values: { t: 3 } }]), a.sendTelemetry({ t: 4 })];
    const pa = [c.sendAttributes({ x: 1 }), c.sendAttributes({ y: 2 }), a.sendAttributes({ x: 0 })];
    expect(socket().written).toEqual([]);
    expect(await sent()).toEqual([
      { topic: 'v1/gateway/telemetry', body: { A: [{ t: 1 }, { t: 4 }], B: [{ t: 2 }, { ts: 5, values: { t: 3 } }] } },
      { topic: 'v1/gateway/attributes', body: { C: { x: 1, y: 2 }, A: { x: 0 } } },
    ]);
    await Promise.all([...ps, ...pa]);
    await expect(a.sendTelemetry({ ts: 1.5, values: { a: 1 } })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(a.sendAttributes([] as never)).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('a batch over maxBytes is split; with batching off every send is its own message', async () => {
    const big = await setup({ batch: { maxBytes: 100 } });
    const kids = Array.from({ length: 6 }, (_, i) => big.gateway.connectDevice('child-' + i));
    await big.sent();
    const ps = kids.map((k) => k.sendTelemetry({ temperature: 20.5, humidity: 40 }));
    await flushMicrotasks();
    const msgs = (await big.sent()).filter((m) => m.topic === 'v1/gateway/telemetry');
    expect(msgs.length).toBeGreaterThan(1);
    expect(msgs.every((m) => JSON.stringify(m.body).length <= 100)).toBe(true);
    expect(msgs.flatMap((m) => Object.keys(m.body))).toEqual(kids.map((k) => k.name));
    await Promise.all(ps);

    const off = await setup({ batch: false });
    const [x, y] = ['X', 'Y'].map((n) => off.gateway.connectDevice(n));
    await off.sent();
    const qs = [x.sendTelemetry({ a: 1 }), y.sendAttributes({ b: 2 })];
    expect(await off.sent()).toEqual([
      { topic: 'v1/gateway/telemetry', body: { X: [{ a: 1 }] } },
      { topic: 'v1/gateway/attributes', body: { Y: { b: 2 } } },
    ]);
    await Promise.all(qs);
  });

  it('a delayed batch waits for its timer', async () => {
    const { gateway, sent, clock } = await setup({ batch: { delayMs: 200 } });
    const a = gateway.connectDevice('A');
    await sent();
    const p = a.sendTelemetry({ t: 1 });
    await flushMicrotasks();
    expect(await sent()).toEqual([]);
    clock.advance(200);
    expect(await sent()).toEqual([{ topic: 'v1/gateway/telemetry', body: { A: [{ t: 1 }] } }]);
    await p;
  });

  it("a child's data never overtakes its announcement", async () => {
    const { gateway, sent } = await setup({ announceWindow: 2 });
    const kids = Array.from({ length: 5 }, (_, i) => gateway.connectDevice('k' + i, 'sensor'));
    const p = gateway.sendTelemetry({ k4: { v: 1 } });
    const q = kids[3].sendAttributes({ a: 1 });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      await flushMicrotasks();
      for (const m of await sent()) order.push(m.topic === 'v1/gateway/connect' ? 'connect ' + m.body.device : m.topic);
    }
    expect(order).toEqual(['connect k0', 'connect k1', 'connect k2', 'connect k3', 'connect k4', 'v1/gateway/telemetry', 'v1/gateway/attributes']);
    await Promise.all([p, q]);
  });

  it('attribute requests: one key, several keys, both scopes combined, missing keys', async () => {
    const { gateway, sent, serverPublish } = await setup();
    const d = gateway.connectDevice('D');
    await sent();
    const p = d.requestAttributes({ clientKeys: ['fw'], sharedKeys: ['interval', 'mode'] });
    const reqs = await sent();
    expect(reqs.map((r) => r.topic)).toEqual(['v1/gateway/attributes/request', 'v1/gateway/attributes/request']);
    const [c, s] = reqs.map((r) => r.body);
    expect(c).toEqual({ id: c.id, device: 'D', client: true, key: 'fw' });
    expect(s).toEqual({ id: s.id, device: 'D', client: false, keys: ['interval', 'mode'] });
    expect(c.id).not.toBe(s.id);
    serverPublish('v1/gateway/attributes/response', { id: s.id, device: 'D', values: { interval: 5, mode: 'eco' } });
    serverPublish('v1/gateway/attributes/response', { id: c.id, device: 'D', value: '1.2' });
    await expect(p).resolves.toEqual({ client: { fw: '1.2' }, shared: { interval: 5, mode: 'eco' } });

    const q = d.requestAttributes({ sharedKeys: ['nope'] });
    const [r] = await sent();
    serverPublish('v1/gateway/attributes/response', { id: r.body.id, device: 'D' });
    await expect(q).resolves.toEqual({ client: {}, shared: {} });
  });

  it('several keys answered with a lone "value" are asked again key by key', async () => {
    const { gateway, sent, serverPublish } = await setup();
    const d = gateway.connectDevice('D');
    await sent();
    const p = d.requestAttributes({ sharedKeys: ['a', 'b'] });
    const [first] = await sent();
    serverPublish('v1/gateway/attributes/response', { id: first.body.id, device: 'D', value: 7 });
    await flushMicrotasks();
    const [ra] = await sent();
    expect(ra.body).toMatchObject({ device: 'D', client: false, key: 'a' });
    serverPublish('v1/gateway/attributes/response', { id: ra.body.id, device: 'D' });
    await flushMicrotasks();
    const [rb] = await sent();
    expect(rb.body).toMatchObject({ key: 'b' });
    serverPublish('v1/gateway/attributes/response', { id: rb.body.id, device: 'D', value: 7 });
    await expect(p).resolves.toEqual({ client: {}, shared: { b: 7 } });
  });

  it('a child attribute request that timed out while offline never goes out later', async () => {
    const { gateway, sent, clock, socket, handshake } = await setup();
    const d = gateway.connectDevice('D');
    await sent();
    socket().drop();
    await flushMicrotasks();
    const p = d.requestAttributes({ sharedKeys: ['x'] }, 3000);
    const check = expect(p).rejects.toMatchObject({ code: 'timeout' });
    clock.advance(3001);
    await check;
    clock.advance(1000); // the reconnect
    await handshake();
    const topics = (await sent()).map((m) => m.topic);
    expect(topics).toContain('v1/gateway/connect'); // the child announced again
    expect(topics).not.toContain('v1/gateway/attributes/request');
  });

  it('attribute requests time out, are bounded, and reject bad input', async () => {
    const { gateway, sent, clock, serverPublish } = await setup({ maxPendingRequests: 2 });
    const d = gateway.connectDevice('D');
    await sent();
    const p = d.requestAttributes({ sharedKeys: ['x'] }, 3000);
    expect(await sent()).toHaveLength(1);
    const check = expect(p).rejects.toMatchObject({ code: 'timeout' });
    clock.advance(3000);
    await check;
    await expect(d.requestAttributes()).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(d.requestAttributes({ clientKeys: 'a' as never })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(d.requestAttributes({ clientKeys: [''] })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(d.requestAttributes({ clientKeys: [], sharedKeys: [] })).resolves.toEqual({ client: {}, shared: {} });
    const a = d.requestAttributes({ sharedKeys: ['a'] });
    const b = d.requestAttributes({ sharedKeys: ['b'] });
    await expect(d.requestAttributes({ sharedKeys: ['c'] })).rejects.toMatchObject({ code: 'too-many-pending' });
    const [ra, rb] = await sent();
    // A response naming another device is a bad response; one for an unknown id is ignored.
    serverPublish('v1/gateway/attributes/response', { id: 999, device: 'D', value: 1 });
    serverPublish('v1/gateway/attributes/response', { id: ra.body.id, device: 'E', value: 1 });
    serverPublish('v1/gateway/attributes/response', { id: rb.body.id, device: 'D', values: 5 });
    await expect(a).rejects.toMatchObject({ code: 'bad-response' });
    await expect(b).rejects.toMatchObject({ code: 'bad-response' });
    expect(gateway.stats.pendingRequests).toBe(0);
  });

  it('routes shared attribute updates and deletions to the right child', async () => {
    const { gateway, serverPublish, warnings } = await setup();
    const a = gateway.connectDevice('A');
    const b = gateway.connectDevice('B');
    const seen: unknown[] = [];
    a.onSharedAttributes((u) => seen.push(['A', u]));
    b.onSharedAttributes((u) => seen.push(['B', u]));
    gateway.onChildSharedAttributes((device, u) => seen.push(['gw ' + device, u.values]));
    serverPublish('v1/gateway/attributes', { device: 'B', data: { interval: 2000 } });
    serverPublish('v1/gateway/attributes', { device: 'A', data: { deleted: ['old'] } });
    serverPublish('v1/gateway/attributes', { device: 'Z', data: { x: 1 } });
    serverPublish('v1/gateway/attributes', { data: { x: 1 } });
    serverPublish('v1/gateway/attributes', { device: 'A', data: 5 });
    serverPublish('v1/gateway/attributes', '{nope');
    await flushMicrotasks();
    expect(seen).toEqual([
      ['B', { values: { interval: 2000 }, deleted: [] }],
      ['gw B', { interval: 2000 }],
      ['A', { values: {}, deleted: ['old'] }],
      ['gw A', {}],
    ]);
    expect(warnings.length).toBe(4);
  });

  it('RPC: per-child handlers, a gateway-wide default with the child name, error replies for unknown child and method', async () => {
    const { gateway, sent, serverPublish } = await setup();
    const a = gateway.connectDevice('A');
    gateway.connectDevice('B');
    await sent();
    a.onRpc('getState', (params) => ({ device: 'A', params }));
    gateway.onChildRpc('getState', (device) => ({ device, fromDefault: true }));
    gateway.onChildRpc('slow', async (device) => ({ later: device }));
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 1, method: 'getState', params: { q: 1 } } });
    serverPublish('v1/gateway/rpc', { device: 'B', data: { id: 1, method: 'getState', params: {} } });
    serverPublish('v1/gateway/rpc', { device: 'B', data: { id: 2, method: 'slow' } });
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 3, method: 'nope', params: {} } });
    serverPublish('v1/gateway/rpc', { device: 'Q', data: { id: 4, method: 'getState', params: {} } });
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 5, params: {} } });
    await flushMicrotasks();
    expect(await sent()).toEqual([
      { topic: 'v1/gateway/rpc', body: { device: 'A', id: 1, data: { device: 'A', params: { q: 1 } } } },
      { topic: 'v1/gateway/rpc', body: { device: 'B', id: 1, data: { device: 'B', fromDefault: true } } },
      { topic: 'v1/gateway/rpc', body: { device: 'A', id: 3, data: { error: 'unknown method: nope' } } },
      { topic: 'v1/gateway/rpc', body: { device: 'Q', id: 4, data: { error: 'unknown device: Q' } } },
      { topic: 'v1/gateway/rpc', body: { device: 'A', id: 5, data: { error: expect.stringContaining('method') } } },
      { topic: 'v1/gateway/rpc', body: { device: 'B', id: 2, data: { later: 'B' } } },
    ]);
    expect(gateway.stats.runningRpc).toBe(0);
  });

  it('RPC requests it cannot answer are logged and ignored; a DUP redelivery is skipped; a busy gateway says so', async () => {
    const { gateway, sent, serverPublish, warnings, session } = await setup({ maxConcurrentRpc: 1 });
    const a = gateway.connectDevice('A');
    await sent();
    let runs = 0;
    let finish!: (v: unknown) => void;
    a.onRpc('hold', () => new Promise((r) => (finish = r)) as never);
    a.onRpc('count', () => ++runs);
    serverPublish('v1/gateway/rpc', '[]');
    serverPublish('v1/gateway/rpc', { device: 'A' });
    serverPublish('v1/gateway/rpc', { device: 'A', data: { method: 'count' } });
    serverPublish('v1/gateway/rpc', { device: 7, data: { id: 1, method: 'count' } });
    expect(await sent()).toEqual([]);
    expect(warnings.length).toBe(4);
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 8, method: 'count' } });
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 8, method: 'count' } }, true);
    await flushMicrotasks();
    expect(runs).toBe(1);
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 9, method: 'hold' } });
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 10, method: 'count' } });
    expect(await sent()).toEqual([
      { topic: 'v1/gateway/rpc', body: { device: 'A', id: 8, data: 1 } },
      { topic: 'v1/gateway/rpc', body: { device: 'A', id: 10, data: { error: expect.stringContaining('busy') } } },
    ]);
    finish({ ok: true });
    await flushMicrotasks();
    expect(await sent()).toEqual([{ topic: 'v1/gateway/rpc', body: { device: 'A', id: 9, data: { ok: true } } }]);
    expect(session.connected).toBe(true);
  });

  it('a handler past its deadline gets an error reply', async () => {
    const { gateway, sent, serverPublish, clock } = await setup({ rpc: { handlerTimeoutMs: 2000 } });
    const a = gateway.connectDevice('A');
    await sent();
    a.onRpc('slow', () => new Promise(() => {}) as never);
    serverPublish('v1/gateway/rpc', { device: 'A', data: { id: 1, method: 'slow' } });
    await flushMicrotasks(); // the handler runs (and its deadline starts) in the delivery job
    clock.advance(2000);
    expect(await sent()).toEqual([{ topic: 'v1/gateway/rpc', body: { device: 'A', id: 1, data: { error: 'method slow did not answer within 2000 ms' } } }]);
    expect(gateway.stats.runningRpc).toBe(0);
  });

  it('claims one child or several in one message', async () => {
    const { gateway, sent } = await setup();
    const a = gateway.connectDevice('A');
    gateway.connectDevice('B');
    await sent();
    const p = a.claim({ secretKey: 's', durationMs: 60000 });
    const q = gateway.claim({ A: {}, B: { secretKey: 'k' } });
    expect(await sent()).toEqual([
      { topic: 'v1/gateway/claim', body: { A: { secretKey: 's', durationMs: 60000 } } },
      { topic: 'v1/gateway/claim', body: { A: {}, B: { secretKey: 'k' } } },
    ]);
    await Promise.all([p, q]);
    await expect(a.claim({ durationMs: 0 })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(gateway.claim({ B: { secretKey: 5 as never } })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(gateway.claim({ Z: {} })).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('rename and delete notices arrive as device RPCs to the gateway: registry updated, reply {}', async () => {
    const { gateway, sent, serverPublish } = await setup();
    const a = gateway.connectDevice('A');
    const b = gateway.connectDevice('B');
    await sent();
    a.onRpc('ping', () => 'pong');
    const events: string[] = [];
    gateway.events.on('renamed', (o, n) => events.push(o + '->' + n));
    gateway.events.on('deleted', (n) => events.push('deleted ' + n));
    serverPublish('v1/devices/me/rpc/request/0', { method: 'gateway_device_renamed', params: { A: 'A2' } });
    serverPublish('v1/devices/me/rpc/request/1', { method: 'gateway_device_deleted', params: 'B' });
    serverPublish('v1/devices/me/rpc/request/2', { method: 'gateway_device_renamed', params: '{"nobody":"x"}' });
    serverPublish('v1/devices/me/rpc/request/3', { method: 'gateway_device_deleted', params: 5 });
    await flushMicrotasks();
    const out = await sent();
    expect(out.filter((m) => m.topic.startsWith('v1/devices/me/rpc/response/'))).toEqual([0, 1, 2, 3].map((i) => ({ topic: 'v1/devices/me/rpc/response/' + i, body: {} })));
    // The renamed child is announced under its new name.
    expect(out.filter((m) => m.topic === 'v1/gateway/connect')).toEqual([{ topic: 'v1/gateway/connect', body: { device: 'A2' } }]);
    expect(events).toEqual(['A->A2', 'deleted B']);
    expect(gateway.childNames()).toEqual(['A2']);
    expect(gateway.child('A2')).toBe(a);
    expect(a.name).toBe('A2');
    expect(b.connected).toBe(false);
    await expect(b.sendTelemetry({ x: 1 })).rejects.toMatchObject({ code: 'closed' });
    serverPublish('v1/gateway/rpc', { device: 'A2', data: { id: 1, method: 'ping' } });
    serverPublish('v1/gateway/rpc', { device: 'B', data: { id: 2, method: 'ping' } });
    expect(await sent()).toEqual([
      { topic: 'v1/gateway/rpc', body: { device: 'A2', id: 1, data: 'pong' } },
      { topic: 'v1/gateway/rpc', body: { device: 'B', id: 2, data: { error: 'unknown device: B' } } },
    ]);
    const p = a.sendTelemetry({ v: 1 });
    await flushMicrotasks();
    expect(await sent()).toEqual([{ topic: 'v1/gateway/telemetry', body: { A2: [{ v: 1 }] } }]);
    await p;
  });

  it('disconnectDevice publishes the disconnect and detaches the handle', async () => {
    const { gateway, sent } = await setup();
    const a = gateway.connectDevice('A');
    await sent();
    const p = a.disconnect();
    expect(await sent()).toEqual([{ topic: 'v1/gateway/disconnect', body: { device: 'A' } }]);
    await p;
    expect(a.connected).toBe(false);
    expect(a.attachedToGateway).toBe(false);
    await expect(a.sendAttributes({ x: 1 })).rejects.toMatchObject({ code: 'closed' });
    await expect(a.claim()).rejects.toMatchObject({ code: 'closed' });
    await expect(gateway.disconnectDevice('A')).resolves.toBeUndefined();
    const again = gateway.connectDevice('A');
    expect(again).not.toBe(a);
    expect(await sent()).toEqual([{ topic: 'v1/gateway/connect', body: { device: 'A' } }]);
  });

  it('survives random payloads on every gateway topic: logged, ignored, never thrown', async () => {
    const { gateway, serverPublish, session } = await setup();
    // Listeners run in the session's delivery job: a throw there would surface as a 'handler' error.
    const errors: string[] = [];
    session.events.on('error', (e) => void errors.push(e.code + ': ' + e.message));
    gateway.connectDevice('A').onRpc('x', () => 1);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const samples = ['null', '1', '"s"', '[]', '{}', '{"device":null}', '{"device":"A","data":null}', '{"device":"A","data":{"id":"1"}}', '{"id":1.5}', '{"id":1,"device":"A","values":[]}'];
    for (let i = 0; i < 300; i++) {
      const topic = ['v1/gateway/rpc', 'v1/gateway/attributes', 'v1/gateway/attributes/response'][i % 3];
      const payload = i % 2 ? samples[Math.floor(rnd() * samples.length)] : String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 128)));
      expect(() => serverPublish(topic, payload)).not.toThrow();
      await flushMicrotasks();
    }
    expect(errors).toEqual([]);
    expect(session.connected).toBe(true);
  });

  it('close() fails pending requests and batched sends and leaves no timer behind', async () => {
    const { gateway, session, sent, clock } = await setup({ batch: { delayMs: 100 } });
    const a = gateway.connectDevice('A');
    await sent();
    const p = a.requestAttributes({ sharedKeys: ['x'] });
    const q = a.sendTelemetry({ t: 1 });
    gateway.close();
    await expect(p).rejects.toMatchObject({ code: 'closed' });
    await expect(q).rejects.toMatchObject({ code: 'closed' });
    expect(a.connected).toBe(false);
    expect(() => gateway.connectDevice('B')).toThrow(expect.objectContaining({ code: 'closed' }));
    await expect(gateway.sendTelemetry({ A: { t: 1 } })).rejects.toMatchObject({ code: 'invalid-argument' });
    session.close();
    expect(clock.pending()).toBe(0);
  });
});
