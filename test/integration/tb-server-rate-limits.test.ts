/**
 * The local server enforces ThingsBoard's rate limits the way ThingsBoard does: a message over a
 * limit is not acknowledged and the session is closed (logged); within the limits nothing happens.
 * getSessionLimits reports them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createConnection } from 'node:net';
import mqtt from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import { parseRateLimit, rateLimiter } from '../../targets/host/tb-server/rate-limits';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { waitFor } from '../support/wait';

let server: TbServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function connect(port: number, token: string, protocolVersion: 3 | 4 | 5 = 4): Promise<mqtt.MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port, protocolVersion, username: token, clientId: 'rl-' + token + '-' + Math.random(), reconnectPeriod: 0 });
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

describe('tb-server rate limits', () => {
  it('parses "N:S,N:S" and refills greedily, each window on its own', () => {
    expect(parseRateLimit('')).toBeUndefined();
    expect(parseRateLimit('10:1, 300:60')).toEqual([{ capacity: 10, periodMs: 1000 }, { capacity: 300, periodMs: 60_000 }]);
    expect(() => parseRateLimit('10:0')).toThrow(/N:SECONDS/);
    const r = rateLimiter('2:1,3:10', 0);
    expect([r.tryTake(1, 0), r.tryTake(1, 0), r.tryTake(1, 0)]).toEqual([true, true, false]);
    expect(r.tryTake(1, 1000)).toBe(true); // the 1 s window refilled; the 10 s one has 1 left
    expect(r.tryTake(1, 2000)).toBe(false); // the 10 s window is empty now
  });

  it.each([3, 4, 5] as const)('MQTT level %i: a client flooding telemetry is cut off; one within the limits is not; getSessionLimits reports them', async (level) => {
    const lines: string[] = [];
    server = await startTbServer({
      devices: [{ name: 'flood', token: 'FLOOD' }, { name: 'calm', token: 'CALM' }],
      rateLimits: { telemetryMessages: '5:1,20:60', telemetryDataPoints: '50:1' },
      log: (l) => lines.push(l),
    });
    const calm = await connect(server.mqttPort, 'CALM', level);
    const answer = new Promise<unknown>((resolve) => {
      calm.subscribe('v1/devices/me/rpc/response/+');
      calm.on('message', (_t, p) => resolve(JSON.parse(p.toString())));
    });
    calm.publish('v1/devices/me/rpc/request/1', JSON.stringify({ method: 'getSessionLimits', params: {} }), { qos: 1 });
    expect(await answer).toMatchObject({ rateLimits: { telemetryMessages: '5:1,20:60', telemetryDataPoints: '50:1', messages: '' } });
    for (let i = 0; i < 3; i++) await calm.publishAsync('v1/devices/me/telemetry', JSON.stringify({ t: i }), { qos: 1 });

    const flood = await connect(server.mqttPort, 'FLOOD', level);
    let closed = false;
    let reason: number | undefined;
    flood.on('close', () => (closed = true));
    flood.on('disconnect', (p) => (reason = p.reasonCode));
    for (let i = 0; i < 10; i++) flood.publish('v1/devices/me/telemetry', JSON.stringify({ t: i }), { qos: 1 });
    await waitFor(() => closed, 'the flooding client to be cut off', 5000);
    // ThingsBoard: no PUBACK, and at MQTT 5 a DISCONNECT 0x83 (Implementation specific error) first.
    expect(reason).toBe(level === 5 ? 0x83 : undefined);
    expect(lines.some((l) => /flood dropped: v1\/devices\/me\/telemetry: over the telemetryMessages rate limit 5:1,20:60/.test(l))).toBe(true);
    expect(calm.connected).toBe(true);
    // Data points count too: 60 keys in one message is over 50 per second.
    const many: Record<string, number> = {};
    for (let i = 0; i < 60; i++) many['k' + i] = i;
    let calmClosed = false;
    calm.on('close', () => (calmClosed = true));
    calm.publish('v1/devices/me/telemetry', JSON.stringify({ ts: 1, values: many }), { qos: 1 });
    await waitFor(() => calmClosed, 'the data-point flood to be cut off', 5000);
    expect(lines.some((l) => /calm dropped: .*over the telemetryDataPoints rate limit 50:1/.test(l))).toBe(true);
    flood.end(true);
    calm.end(true);
  });

  it('holds QoS 1 downlink at maxInflightMessages unacknowledged; each PUBACK lets the next go; getSessionLimits reports it', async () => {
    server = await startTbServer({ devices: [{ name: 'slow', token: 'SLOW' }], maxInflightMessages: 2 });
    // A raw client: it acknowledges only when the test says so (MQTT.js acks at once at level 4).
    const socket = createConnection({ host: '127.0.0.1', port: server.mqttPort });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const got: { topic: string; body: { method?: string; maxInflightMessages?: number }; id: number }[] = [];
    parser.on('packet', (p) => {
      if (p.cmd === 'publish') got.push({ topic: p.topic, body: JSON.parse(p.payload.toString()), id: p.messageId as number });
    });
    socket.on('data', (d) => parser.parse(d));
    const send = (packet: object) => socket.write(mqttPacket.generate(packet as never));
    await new Promise((resolve) => socket.once('connect', resolve));
    send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'slow', keepalive: 0, username: 'SLOW' });
    send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/devices/me/rpc/request/+', qos: 1 }, { topic: 'v1/devices/me/rpc/response/+', qos: 1 }] });
    await waitFor(() => server!.isConnected('slow'), 'the raw client to connect');
    await new Promise((r) => setTimeout(r, 100));
    send({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/1', payload: JSON.stringify({ method: 'getSessionLimits', params: {} }), qos: 0 });
    await waitFor(() => got.length === 1, 'the limits answer');
    expect(got[0].body).toMatchObject({ maxInflightMessages: 2 });
    const ack = (i: number) => send({ cmd: 'puback', messageId: got[i].id });
    ack(0);
    for (const m of ['a', 'b', 'c', 'd']) void server.sendRpc('slow', m, {}, { timeoutMs: 5000, oneway: true }).catch(() => undefined);
    await waitFor(() => got.length === 3, 'two RPCs');
    await new Promise((r) => setTimeout(r, 200));
    expect(got.slice(1).map((g) => g.body.method)).toEqual(['a', 'b']); // c and d wait for a PUBACK
    ack(1);
    await waitFor(() => got.length === 4, 'the third RPC after one PUBACK');
    expect(got[3].body.method).toBe('c');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(4);
    ack(2);
    ack(3);
    await waitFor(() => got.length === 5, 'the fourth');
    socket.destroy();
  });
});
