/**
 * Session limits on the device: getSessionLimits asked after every connect, publishes held until
 * the first answer, rate windows held by token buckets that delay (never drop), maxPayloadSize
 * refused at once, the in-flight window capped, resends after a reconnect paced too, and a
 * gateway counting data points across its children. Fake clock, fake socket.
 */
import { generate } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSession } from '../../src/mqtt/session';
import { DeviceClient } from '../../src/thingsboard/device-client';
import { GatewayClient } from '../../src/thingsboard/gateway-client';
import { parseRateSpec, RateWindows } from '../../src/thingsboard/rate-windows';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';
import { FakeConnector, type FakeSocket } from '../support/fake-connector';
import { parsePacket as parse } from '../support/mqtt-parse';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

interface Sent {
  at: number;
  topic: string;
  body: unknown;
  dup: boolean;
}

async function setup(kind: 'device' | 'gateway' = 'device', maxInflight?: number) {
  const clock = new FakeClock(0);
  const connector = new FakeConnector();
  const lines: string[] = [];
  const log = { debug() {}, info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
  const session = new MqttSession({ connector, clock, host: 'h', port: 1, clientId: 'c', username: 'T', random: () => 0, ackTimeoutMs: 0, maxInflight });
  const gateway = kind === 'gateway' ? new GatewayClient({ session, clock, log }) : undefined;
  const client = gateway ? gateway.device : new DeviceClient({ session, clock, log });
  closers.push(() => {
    gateway?.close();
    client.close();
    session.close();
  });
  const all: Sent[] = [];
  let socket!: FakeSocket;
  let ack = true;
  /** Everything written since the last call; PUBLISHes acknowledged (unless `ack` is off) and kept in `all`. */
  const pump = async () => {
    await flushMicrotasks();
    const out: Sent[] = [];
    for (const p of socket.take().map(parse)) {
      if (p.cmd === 'subscribe') socket.receive([0x90, 3, p.messageId >> 8, p.messageId & 0xff, 1]);
      if (p.cmd !== 'publish') continue;
      if (p.qos === 1 && ack) socket.receive([0x40, 2, p.messageId >> 8, p.messageId & 0xff]);
      const s = { at: clock.now(), topic: p.topic as string, body: JSON.parse(p.payload.toString()), dup: p.dup === true };
      out.push(s);
      all.push(s);
    }
    await flushMicrotasks();
    return out;
  };
  const connect = async () => {
    if (session.state === 'idle') session.start();
    else await clock.advanceAsync(1000);
    socket = connector.last;
    socket.open();
    socket.receive([0x20, 2, 0, 0]);
    return pump();
  };
  /** Answers the getSessionLimits request among `sent`. */
  const answerLimits = async (sent: Sent[], answer: object) => {
    const request = sent.find((s) => (s.body as { method?: string }).method === 'getSessionLimits');
    expect(request).toBeDefined();
    const id = (request as Sent).topic.split('/').pop();
    socket.receive(generate({ cmd: 'publish', topic: 'v1/devices/me/rpc/response/' + id, payload: JSON.stringify(answer), qos: 0 } as never));
    await flushMicrotasks();
  };
  /** Runs the fake clock for `ms` in small steps, collecting what is sent. */
  const run = async (ms: number) => {
    const out: Sent[] = [];
    for (let t = 0; t < ms; t += 50) {
      await clock.advanceAsync(50);
      out.push(...(await pump()));
    }
    return out;
  };
  return {
    clock,
    session,
    client,
    gateway,
    lines,
    all,
    pump,
    connect,
    answerLimits,
    run,
    setAck: (v: boolean) => (ack = v),
    dropSocket: () => socket.drop(new Error('cut')),
  };
}

const telemetry = (list: Sent[]) => list.filter((s) => s.topic === 'v1/devices/me/telemetry' || s.topic === 'v1/gateway/telemetry');

/**
 * Replays what was sent against the server's own buckets (full at the start, not stretched, as
 * the local server and ThingsBoard's Bucket4j hold them): the messages it would have refused.
 */
function refusedByServer(list: Sent[], spec: string, cost: (s: Sent) => number = () => 1): Sent[] {
  const server = new RateWindows(spec, parseRateSpec(spec) as never, list.length ? list[0].at : 0, true);
  return list.filter((s) => !server.tryTake(cost(s), s.at));
}

describe('RateWindows', () => {
  it('parses specs, refills per window, says how long to wait and when never', () => {
    expect(parseRateSpec('10:1, 300:60')).toEqual([{ capacity: 10, periodMs: 1000 }, { capacity: 300, periodMs: 60_000 }]);
    expect(parseRateSpec('')).toEqual([]);
    expect(parseRateSpec('10:0')).toMatch(/N:SECONDS/);
    expect(parseRateSpec('ten:1')).toMatch(/N:SECONDS/);
    const w = new RateWindows('2:1,3:10', parseRateSpec('2:1,3:10') as never, 0, false);
    expect(w.waitMs(1, 0)).toBe(3334); // empty at the start: the 3-per-10-s window decides
    expect(w.waitMs(4, 0)).toBe(Infinity); // more than the 10 s window ever holds
    expect(w.waitMs(1, 3400)).toBe(0);
    w.take(1);
    const full = new RateWindows('2:1', parseRateSpec('2:1') as never, 0, true, 1.1);
    expect([full.tryTake(1, 0), full.tryTake(1, 0), full.tryTake(1, 0)]).toEqual([true, true, false]);
    expect(full.waitMs(1, 0)).toBe(550); // stretched by 1.1
    expect([full.noteWait(1, 0), full.noteWait(1, 100), full.noteWait(1, 1200), full.noteWait(1, 60_000)]).toEqual([true, false, false, true]);
  });
});

describe('DeviceClient session limits', () => {
  it('holds what was queued offline until the answer, asks first, then paces telemetry within every window', async () => {
    const t = await setup();
    for (let i = 0; i < 12; i++) t.client.sendTelemetry({ i }).catch(() => undefined);
    const first = await t.connect();
    // Only the request went: the queued telemetry waits for the answer.
    expect(first.map((s) => s.topic)).toEqual(['v1/devices/me/rpc/request/0']);
    expect(first[0].body).toEqual({ method: 'getSessionLimits', params: {} });
    await t.answerLimits(first, { maxPayloadSize: 65536, maxInflightMessages: 100, rateLimits: { messages: '', telemetryMessages: '2:1,5:10', telemetryDataPoints: '' } });
    // The answer ends the hold at once: the first reading goes as soon as its bucket has a token
    // (empty at the start: 1.1 s / 2 for the 2:1 window, 11 s / 5 for the 5:10 one), not at the
    // hold's 5 s timeout.
    const early = telemetry(await t.run(2500));
    expect(early.length).toBeGreaterThanOrEqual(1);
    const sent = [...early, ...telemetry(await t.run(30_000))];
    expect(sent.map((s) => (s.body as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // none dropped, in order
    expect(refusedByServer(sent, '2:1,5:10')).toEqual([]);
    // Not paced far below the limit either: buckets start empty, refilled at 5 per 11 s, so 12
    // messages take 12 x 2.2 s.
    expect(sent[11].at).toBeLessThanOrEqual(27_000);
    // One log line per window period at most, never one per message.
    const said = t.lines.filter((l) => /rate limit telemetryMessages "2:1,5:10" reached/.test(l));
    expect(said.length).toBeGreaterThan(0);
    expect(said).toHaveLength(1); // 30 s of waiting: once per limit and minute at most
    expect(t.lines.some((l) => /^session limits: /.test(l))).toBe(true);
  });

  it('keeps safe defaults when nobody answers: held for the timeout once, later connections not at all', async () => {
    const t = await setup();
    t.client.sendTelemetry({ a: 1 }).catch(() => undefined);
    const first = await t.connect();
    expect(telemetry(first)).toEqual([]);
    const later = telemetry(await t.run(5100));
    expect(later).toHaveLength(1);
    expect(later[0].at).toBeGreaterThanOrEqual(5000);
    expect(t.lines.some((l) => /no session limits \(TbError timeout/.test(l))).toBe(true);
    t.dropSocket();
    t.client.sendTelemetry({ a: 2 }).catch(() => undefined);
    const again = await t.connect();
    expect(telemetry(again).map((s) => s.body)).toEqual([{ a: 2 }]); // no hold: the first try settled it
    expect(again.some((s) => (s.body as { method?: string }).method === 'getSessionLimits')).toBe(true); // still asked
  });

  it('an unsupported answer ends the hold and keeps the defaults', async () => {
    const t = await setup();
    t.client.sendTelemetry({ a: 1 }).catch(() => undefined);
    const first = await t.connect();
    await t.answerLimits(first, { error: 'Unsupported client-side RPC method: getSessionLimits' });
    expect(telemetry(await t.pump())).toHaveLength(1);
    expect(t.lines.some((l) => /getSessionLimits answer is not .*safe defaults kept/.test(l))).toBe(true);
  });

  it('refuses payloads over maxPayloadSize at once with a TbError, caps in-flight, answers an oversized RPC reply with an error', async () => {
    const t = await setup('device', 8);
    const first = await t.connect();
    await t.answerLimits(first, { maxPayloadSize: 200, maxInflightMessages: 3, rateLimits: {} });
    expect(t.session.maxInflight).toBe(3);
    await expect(t.client.sendTelemetry({ big: 'x'.repeat(300) })).rejects.toMatchObject({ name: 'TbError', code: 'payload-too-large', message: expect.stringMatching(/over the server's maxPayloadSize of 200/) });
    await expect(t.client.sendTelemetry({ small: 1 })).resolves.toBeUndefined;
    // Multi-byte text is measured in UTF-8 bytes: 70 characters of 3 bytes each is over 200.
    await expect(t.client.sendAttributes({ s: '\u20ac'.repeat(70) })).rejects.toMatchObject({ code: 'payload-too-large' });
    t.client.onRpc('dump', () => ({ data: 'y'.repeat(400) }));
    t.setAck(true);
    await t.pump();
    // A server RPC whose reply is too large gets a short error reply instead of a timeout.
    const socketPublish = generate({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/7', payload: JSON.stringify({ method: 'dump', params: {} }), qos: 0 } as never);
    (t.session as unknown as { conn_: { socket: FakeSocket } }).conn_.socket.receive(socketPublish);
    const reply = (await t.pump()).find((s) => s.topic === 'v1/devices/me/rpc/response/7');
    expect(reply?.body).toEqual({ error: "reply over the server's maxPayloadSize" });
    // A figure above our own cap leaves ours.
    t.dropSocket();
    const again = await t.connect();
    await t.answerLimits(again, { maxPayloadSize: 65536, maxInflightMessages: 100, rateLimits: {} });
    expect(t.session.maxInflight).toBe(8);
  });

  it('counts data points; a message larger than a window can ever hold fails with over-limit, the rest still go', async () => {
    const t = await setup();
    const first = await t.connect();
    await t.answerLimits(first, { rateLimits: { telemetryDataPoints: '5:1' } });
    const results: unknown[] = [];
    t.client.sendTelemetry({ a: 1, b: 2, c: 3 }).then(() => results.push('3 ok'));
    t.client.sendTelemetry([{ ts: 1, values: { a: 1, b: 2, c: 3 } }]).then(() => results.push('3 ok'));
    t.client.sendTelemetry({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }).catch((e: { code: string }) => results.push(e.code));
    t.client.sendTelemetry({ z: 1 }).then(() => results.push('1 ok'));
    const sent = telemetry(await t.run(5000));
    expect(sent).toHaveLength(3);
    expect([...results].sort()).toEqual(['1 ok', '3 ok', '3 ok', 'over-limit']);
    // 3 points at a time against 5 per 1.1 s: the second message waited.
    expect(sent[1].at - sent[0].at).toBeGreaterThanOrEqual(600);
  });

  it('after a reconnect the unacknowledged messages are resent through the pacer, with DUP, in order', async () => {
    const t = await setup();
    const first = await t.connect();
    await t.answerLimits(first, { rateLimits: { messages: '2:1' } });
    await t.run(2000); // the buckets fill up
    t.setAck(false);
    for (let i = 0; i < 4; i++) t.client.sendTelemetry({ i }).catch(() => undefined);
    const before = telemetry(await t.run(3000));
    expect(before.length).toBeGreaterThanOrEqual(3);
    t.dropSocket();
    t.setAck(true);
    const sentAfter = [...(await t.connect()), ...(await t.run(6000))];
    const resent = telemetry(sentAfter);
    expect(resent.map((s) => (s.body as { i: number }).i)).toEqual([0, 1, 2, 3].slice(0, resent.length));
    expect(resent.length).toBe(4);
    expect(resent.slice(0, before.length).every((s) => s.dup)).toBe(true);
    // getSessionLimits, the resends: never more than 2 a second (the request goes regardless, counted).
    expect(refusedByServer(sentAfter, '2:1')).toEqual([]);
  });
});

describe('GatewayClient session limits', () => {
  it('obeys gatewayRateLimits and counts data points across children', async () => {
    const t = await setup('gateway');
    const first = await t.connect();
    await t.answerLimits(first, {
      maxPayloadSize: 65536,
      maxInflightMessages: 100,
      rateLimits: { messages: '1000:1' },
      gatewayRateLimits: { messages: '', telemetryMessages: '', telemetryDataPoints: '6:1' },
    });
    const gw = t.gateway as GatewayClient;
    const a = gw.connectDevice('A');
    const b = gw.connectDevice('B');
    await t.run(200);
    // 2 + 2 points in one batch (4), then 2 + 2 again: 8 in the first second would pass 6.
    const ignore = () => undefined;
    a.sendTelemetry({ x: 1, y: 2 }).catch(ignore);
    b.sendTelemetry({ x: 1, y: 2 }).catch(ignore);
    await flushMicrotasks();
    a.sendTelemetry({ x: 3, y: 4 }).catch(ignore);
    b.sendTelemetry({ x: 3, y: 4 }).catch(ignore);
    await flushMicrotasks();
    gw.sendTelemetry({ A: { z: 1 }, B: [{ z: 2 }, { ts: 5, values: { z: 3 } }] }).catch(ignore);
    const sent = telemetry(await t.run(5000));
    expect(sent.length).toBe(3);
    const points = (body: unknown) => Object.values(body as Record<string, { values?: object }[]>).flat().reduce((n, e) => n + Object.keys(e.values ?? e).length, 0);
    expect(sent.map((s) => points(s.body))).toEqual([4, 4, 3]);
    expect(refusedByServer(sent, '6:1', (s) => points(s.body))).toEqual([]);
  });
});
