/**
 * The local server enforces ThingsBoard's rate limits the way ThingsBoard does: a message over a
 * limit is not acknowledged and the session is closed (logged); within the limits nothing happens.
 * getSessionLimits reports them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { parseRateLimit, rateLimiter } from '../../targets/host/tb-server/rate-limits';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { waitFor } from '../support/wait';

let server: TbServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function connect(port: number, token: string): Promise<mqtt.MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port, protocolVersion: 4, username: token, clientId: 'rl-' + token + '-' + Math.random(), reconnectPeriod: 0 });
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

  it('a client flooding telemetry is cut off; one within the limits is not; getSessionLimits reports them', async () => {
    const lines: string[] = [];
    server = await startTbServer({
      devices: [{ name: 'flood', token: 'FLOOD' }, { name: 'calm', token: 'CALM' }],
      rateLimits: { telemetryMessages: '5:1,20:60', telemetryDataPoints: '50:1' },
      log: (l) => lines.push(l),
    });
    const calm = await connect(server.mqttPort, 'CALM');
    const answer = new Promise<unknown>((resolve) => {
      calm.subscribe('v1/devices/me/rpc/response/+');
      calm.on('message', (_t, p) => resolve(JSON.parse(p.toString())));
    });
    calm.publish('v1/devices/me/rpc/request/1', JSON.stringify({ method: 'getSessionLimits', params: {} }), { qos: 1 });
    expect(await answer).toMatchObject({ rateLimits: { telemetryMessages: '5:1,20:60', telemetryDataPoints: '50:1', messages: '' } });
    for (let i = 0; i < 3; i++) await calm.publishAsync('v1/devices/me/telemetry', JSON.stringify({ t: i }), { qos: 1 });

    const flood = await connect(server.mqttPort, 'FLOOD');
    let closed = false;
    flood.on('close', () => (closed = true));
    for (let i = 0; i < 10; i++) flood.publish('v1/devices/me/telemetry', JSON.stringify({ t: i }), { qos: 1 });
    await waitFor(() => closed, 'the flooding client to be cut off', 5000);
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
});
