// Local ThingsBoard-compatible server: claiming you can see. The device side asks (MQTT), a
// customer claims over ThingsBoard's REST, and the log shows both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { httpJson } from '../support/tb-server-helpers';

let server: TbServer;
const log: string[] = [];
const clients: MqttClient[] = [];

async function connect(username: string): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, reconnectPeriod: 0, username });
  clients.push(c);
  await new Promise((r, j) => {
    c.once('connect', r);
    c.once('error', j);
  });
  return c;
}

const claim = (name: string, body?: unknown) => httpJson(server.httpUrl, 'POST', `/api/customer/device/${encodeURIComponent(name)}/claim`, body);

beforeAll(async () => {
  server = await startTbServer({
    devices: [{ name: 'c1', token: 'C1' }, { name: 'c2', token: 'C2' }, { name: 'c3', token: 'C3' }],
    gateways: [{ name: 'cgw', token: 'CGW' }],
    log: (line) => log.push(line),
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  await server.close();
});

describe('POST /api/customer/device/{deviceName}/claim', () => {
  it('a wrong key fails and keeps the request; the right key claims once, then CLAIMED', async () => {
    const c = await connect('C1');
    await c.publishAsync('v1/devices/me/claim', JSON.stringify({ secretKey: 'k1', durationMs: 60_000 }), { qos: 1 });
    const wrong = await claim('c1', { secretKey: 'nope' });
    expect([wrong.status, wrong.json]).toEqual([400, 'FAILURE']);
    const ok = await claim('c1', { secretKey: 'k1' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ response: 'SUCCESS', device: { name: 'c1', customerId: { entityType: 'CUSTOMER' } } });
    expect(ok.json.device.customerId.id).not.toBe('13814000-1dd2-11b2-8080-808080808080');
    const dev = await httpJson(server.httpUrl, 'GET', `/api/device/${server.getDevice('c1')!.id}`);
    expect(dev.json.customerId).toEqual(ok.json.device.customerId);
    const again = await claim('c1', { secretKey: 'k1' });
    expect([again.status, again.json]).toEqual([400, 'CLAIMED']);
    expect(log.filter((l) => l.startsWith('[claim] c1:'))).toEqual([
      '[claim] c1: claim request: secretKey "k1" for 60000 ms',
      '[claim] c1: REST claim: FAILURE (wrong secretKey)',
      '[claim] c1: REST claim: SUCCESS (claimed by customer ' + ok.json.device.customerId.id + ')',
      '[claim] c1: REST claim: CLAIMED (already claimed)',
    ]);
  });

  it('FAILURE without a request and after the duration; an empty body matches an empty key; 404 for an unknown name', async () => {
    expect((await claim('c2', { secretKey: '' })).json).toBe('FAILURE');
    const c = await connect('C2');
    await c.publishAsync('v1/devices/me/claim', JSON.stringify({ durationMs: 50 }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 80));
    expect((await claim('c2')).json).toBe('FAILURE');
    expect(log.some((l) => /\[claim\] c2: REST claim: FAILURE \(the claim request expired at /.test(l))).toBe(true);
    const d = await connect('C3');
    await d.publishAsync('v1/devices/me/claim', '', { qos: 1 });
    expect((await claim('c3')).status).toBe(200);
    expect((await claim('nobody', {})).status).toBe(404);
    expect((await claim('c3', { secretKey: 5 })).status).toBe(400);
  });

  it("a gateway's child claimed through v1/gateway/claim", async () => {
    const g = await connect('CGW');
    await g.publishAsync('v1/gateway/claim', JSON.stringify({ kid: { secretKey: 'gk', durationMs: 60_000 } }), { qos: 1 });
    const r = await claim('kid', { secretKey: 'gk' });
    expect(r.status).toBe(200);
    expect(r.json.device.name).toBe('kid');
  });
});
