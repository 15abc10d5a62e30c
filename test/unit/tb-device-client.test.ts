import { generate } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSession } from '../../src/mqtt/session';
import { DeviceClient } from '../../src/thingsboard/device-client';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';
import { FakeConnector } from '../support/fake-connector';
import { parsePacket as parse } from '../support/mqtt-parse';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function setup(rpcTimeout = 4000, ackTimeoutMs?: number) {
  const clock = new FakeClock();
  const connector = new FakeConnector();
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m) };
  const session = new MqttSession({ connector, clock, host: 'h', port: 1, clientId: 'c', username: 'T', random: () => 0, ackTimeoutMs });
  const client = new DeviceClient({ session, clock, log, requestTimeoutMs: 5000, sessionLimits: false, rpc: { handlerTimeoutMs: rpcTimeout } });
  closers.push(() => {
    client.close();
    session.close();
  });
  session.start();
  const socket = connector.last;
  socket.open();
  socket.receive([0x20, 2, 0, 0]);
  await flushMicrotasks(); // the SUBSCRIBEs go out from the session's delivery job
  const subs = socket.take().slice(1).map(parse);
  for (const s of subs) socket.receive([0x90, 3, s.messageId >> 8, s.messageId & 0xff, 1]);
  /**
   * PUBLISH packets the client wrote since the last call, acknowledged. Writes are deferred to the
   * session's flush job, so the microtasks run first.
   */
  const sent = async () => {
    await flushMicrotasks();
    return socket
      .take()
      .map(parse)
      .filter((p) => p.cmd === 'publish')
      .map((p) => {
        if (p.qos === 1) socket.receive([0x40, 2, p.messageId >> 8, p.messageId & 0xff]);
        return { topic: p.topic as string, body: JSON.parse(p.payload.toString()) };
      });
  };
  /** The server publishes; resolves once the session's delivery job ran the listeners. */
  const serverPublish = async (topic: string, payload: string | object, dup = false) => {
    socket.receive(generate({ cmd: 'publish', topic, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), qos: 1, messageId: 77, dup } as never));
    await flushMicrotasks();
  };
  return { clock, connector, socket, session, client, subs, sent, serverPublish, warnings };
}

describe('DeviceClient', () => {
  it('subscribes to exactly the filters ThingsBoard accepts', async () => {
    const { subs } = await setup();
    expect(subs.map((s) => s.subscriptions[0].topic).sort()).toEqual([
      'v1/devices/me/attributes',
      'v1/devices/me/attributes/response/+',
      'v1/devices/me/rpc/request/+',
      'v1/devices/me/rpc/response/+',
    ]);
  });

  it('sends telemetry in all three shapes and rejects bad shapes', async () => {
    const { client, sent } = await setup();
    const p1 = client.sendTelemetry({ temperature: 21.5 });
    const p2 = client.sendTelemetry({ ts: 1700000000123, values: { a: 1 } });
    const p3 = client.sendTelemetry([{ ts: 1, values: { a: 1 } }, { b: true }]);
    expect(await sent()).toEqual([
      { topic: 'v1/devices/me/telemetry', body: { temperature: 21.5 } },
      { topic: 'v1/devices/me/telemetry', body: { ts: 1700000000123, values: { a: 1 } } },
      { topic: 'v1/devices/me/telemetry', body: [{ ts: 1, values: { a: 1 } }, { b: true }] },
    ]);
    await Promise.all([p1, p2, p3]);
    await expect(client.sendTelemetry([])).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(client.sendTelemetry({ ts: 1.5, values: { a: 1 } })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(client.sendTelemetry(42 as never)).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(client.sendAttributes({})).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('requests attributes with comma-separated key strings and resolves the matching response', async () => {
    const { client, sent, serverPublish } = await setup();
    const p = client.requestAttributes({ clientKeys: ['a', 'b'], sharedKeys: ['c'] });
    const [req] = await sent();
    expect(req.body).toEqual({ clientKeys: 'a,b', sharedKeys: 'c' });
    const id = req.topic.split('/').pop();
    expect(req.topic).toBe('v1/devices/me/attributes/request/' + id);
    await serverPublish('v1/devices/me/attributes/response/' + id, { client: { a: 1 } });
    await expect(p).resolves.toEqual({ client: { a: 1 }, shared: {} });
  });

  it('gives concurrent requests distinct ids and matches each answer', async () => {
    const { client, sent, serverPublish } = await setup();
    const ps = [0, 1, 2].map((i) => client.requestAttributes({ sharedKeys: ['k' + i] }));
    const reqs = await sent();
    const ids = reqs.map((r) => r.topic.split('/').pop());
    expect(new Set(ids).size).toBe(3);
    for (const i of [2, 0, 1]) await serverPublish('v1/devices/me/attributes/response/' + ids[i], { shared: { ['k' + i]: i } });
    expect(await Promise.all(ps)).toEqual([0, 1, 2].map((i) => ({ client: {}, shared: { ['k' + i]: i } })));
  });

  it('an attribute request with no answer fails with a timeout instead of hanging', async () => {
    const { client, clock } = await setup();
    const p = client.requestAttributes({ sharedKeys: ['x'] }, 3000);
    const check = expect(p).rejects.toMatchObject({ code: 'timeout' });
    clock.advance(3000);
    await check;
  });

  it('requests that timed out while offline never go out later; data queued with them still does', async () => {
    const { client, clock, connector, socket } = await setup();
    socket.drop();
    await flushMicrotasks();
    const attributes = client.requestAttributes({ sharedKeys: ['x'] }, 3000);
    const rpc = client.callRpc('getTime', {}, 3000);
    const telemetry = client.sendTelemetry({ t: 1 });
    const checks = [expect(attributes).rejects.toMatchObject({ code: 'timeout' }), expect(rpc).rejects.toMatchObject({ code: 'timeout' })];
    clock.advance(3001);
    await Promise.all(checks);
    clock.advance(5000); // the reconnect
    const socket2 = connector.last;
    expect(socket2).not.toBe(socket);
    socket2.open();
    socket2.receive([0x20, 2, 0, 0]);
    await flushMicrotasks();
    const published = socket2.written.map(parse).filter((p) => p.cmd === 'publish');
    expect(published.map((p) => p.topic)).toEqual(['v1/devices/me/telemetry']);
    socket2.receive([0x40, 2, published[0].messageId >> 8, published[0].messageId & 0xff]);
    await expect(telemetry).resolves.toBeUndefined();
  });

  it('rejects keys the format cannot carry', async () => {
    const { client } = await setup();
    await expect(client.requestAttributes({ clientKeys: ['a,b'] })).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(client.requestAttributes({ clientKeys: 'a' as never })).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('delivers shared attribute updates and deletions', async () => {
    const { client, serverPublish } = await setup();
    const updates: unknown[] = [];
    client.onSharedAttributes((u) => updates.push(u));
    await serverPublish('v1/devices/me/attributes', { telemetryIntervalMs: 2000 });
    await serverPublish('v1/devices/me/attributes', { deleted: ['old', 'older'] });
    expect(updates).toEqual([
      { values: { telemetryIntervalMs: 2000 }, deleted: [] },
      { values: {}, deleted: ['old', 'older'] },
    ]);
  });

  it('logs and ignores invalid payloads from the server', async () => {
    const { client, serverPublish, warnings, session } = await setup();
    const updates: unknown[] = [];
    client.onSharedAttributes((u) => updates.push(u));
    await serverPublish('v1/devices/me/attributes', '{not json');
    await serverPublish('v1/devices/me/attributes', '[1,2]');
    await serverPublish('v1/devices/me/attributes/response/999', '{}');
    expect(updates).toEqual([]);
    expect(warnings.length).toBe(2);
    expect(session.connected).toBe(true);
  });

  it('answers server-side RPC by exact method name, with errors for unknown, throwing and bad requests', async () => {
    const { client, sent, serverPublish } = await setup();
    client.onRpc('getGpioStatus', () => ({ '2': true }));
    client.onRpc('fail', () => {
      throw new Error('relay stuck');
    });
    client.onRpc('async', async (params) => ({ echo: params }));
    await serverPublish('v1/devices/me/rpc/request/0', { method: 'getGpioStatus', params: {} });
    await serverPublish('v1/devices/me/rpc/request/1', { method: 'getGpio', params: {} });
    await serverPublish('v1/devices/me/rpc/request/2', { method: 'fail' });
    await serverPublish('v1/devices/me/rpc/request/3', { params: {} });
    await serverPublish('v1/devices/me/rpc/request/4', 'nope');
    await serverPublish('v1/devices/me/rpc/request/5', { method: 'async', params: { x: 1 } });
    await flushMicrotasks();
    const replies = Object.fromEntries((await sent()).map((r) => [r.topic, r.body]));
    expect(replies['v1/devices/me/rpc/response/0']).toEqual({ '2': true });
    expect(replies['v1/devices/me/rpc/response/1']).toEqual({ error: 'unknown method: getGpio' });
    expect(replies['v1/devices/me/rpc/response/2'].error).toContain('relay stuck');
    expect(replies['v1/devices/me/rpc/response/3'].error).toContain('method');
    expect(replies['v1/devices/me/rpc/response/4'].error).toContain('JSON');
    expect(replies['v1/devices/me/rpc/response/5']).toEqual({ echo: { x: 1 } });
  });

  it('a handler past its deadline gets an error reply, and its late answer is dropped', async () => {
    // No PUBACK timer (its lazy timer would outlive the reply): this test counts timers.
    const { client, sent, serverPublish, clock } = await setup(2000, 0);
    let finish!: (v: unknown) => void;
    client.onRpc('slow', () => new Promise((r) => (finish = r)) as never);
    const timersBefore = clock.pending();
    await serverPublish('v1/devices/me/rpc/request/9', { method: 'slow' });
    clock.advance(2000);
    expect(await sent()).toEqual([{ topic: 'v1/devices/me/rpc/response/9', body: { error: 'method slow did not answer within 2000 ms' } }]);
    finish({ late: true });
    await flushMicrotasks();
    expect(await sent()).toEqual([]);
    expect(clock.pending()).toBe(timersBefore); // the deadline timer is gone
  });

  it('skips a redelivered (DUP) RPC request it already ran', async () => {
    const { client, sent, serverPublish } = await setup();
    let runs = 0;
    client.onRpc('toggle_gpio', () => ++runs);
    await serverPublish('v1/devices/me/rpc/request/4', { method: 'toggle_gpio', params: { pin: 'led' } });
    await serverPublish('v1/devices/me/rpc/request/4', { method: 'toggle_gpio', params: { pin: 'led' } }, true);
    expect(runs).toBe(1);
    expect((await sent()).length).toBe(1);
  });

  it('client-side RPC: request with id, answer matched, timeout when none', async () => {
    const { client, sent, serverPublish, clock } = await setup();
    const p = client.callRpc('getCurrentTime', {});
    const [req] = await sent();
    expect(req.body).toEqual({ method: 'getCurrentTime', params: {} });
    const id = req.topic.split('/').pop();
    await serverPublish('v1/devices/me/rpc/response/' + id, { time: 5 });
    await expect(p).resolves.toEqual({ time: 5 });
    const q = client.callRpc('never', {}, 1000);
    const check = expect(q).rejects.toMatchObject({ code: 'timeout' });
    clock.advance(1000);
    await check;
    await expect(client.callRpc('')).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('claims with optional secret and duration', async () => {
    const { client, sent } = await setup();
    const a = client.claim();
    const b = client.claim({ secretKey: 's3cret', durationMs: 60000 });
    expect(await sent()).toEqual([
      { topic: 'v1/devices/me/claim', body: {} },
      { topic: 'v1/devices/me/claim', body: { secretKey: 's3cret', durationMs: 60000 } },
    ]);
    await Promise.all([a, b]);
    await expect(client.claim({ durationMs: -1 })).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('close() fails pending requests', async () => {
    const { client } = await setup();
    const p = client.requestAttributes();
    client.close();
    await expect(p).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('DeviceClient when the session refuses', () => {
  it('a request whose publish does not fit the offline queue fails at once with not-sent', async () => {
    const clock = new FakeClock();
    const session = new MqttSession({ connector: new FakeConnector(), clock, host: 'h', port: 1, clientId: 'c', maxQueuedMessages: 4 });
    const client = new DeviceClient({ session, clock, sessionLimits: false });
    closers.push(() => {
      client.close();
      session.close();
    });
    // Offline and never started: the queue fills up.
    const queued = [0, 1, 2, 3].map(() => client.sendTelemetry({ a: 1 }).catch(() => undefined));
    await expect(client.requestAttributes({ sharedKeys: ['x'] })).rejects.toMatchObject({ code: 'not-sent', message: expect.stringContaining('queue-full') });
    expect(queued.length).toBe(4);
  });
});
