// The dashboard's own endpoints on the local server's HTTP port (no browser): the device list,
// the live stream (server-sent events) and its bounds. The page itself: dashboard-browser.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { MAX_CLIENTS } from '../../targets/host/tb-server/dashboard/live-feed';
import type { DeviceSummary, LiveMessage } from '../../targets/host/tb-server/dashboard/protocol';
import { httpJson } from '../support/tb-server-helpers';
import { SseReader } from '../support/sse-reader';
import { waitFor } from '../support/wait';

let server: TbServer;
const clients: MqttClient[] = [];

function connect(token: string): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, username: token, reconnectPeriod: 0, connectTimeout: 3000 });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

const publish = (c: MqttClient, topic: string, body: unknown) => c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
const devices = async (): Promise<DeviceSummary[]> => (await httpJson(server.httpUrl, 'GET', '/dashboard/devices')).json;
const byName = (list: DeviceSummary[], name: string) => list.find((d) => d.name === name)!;
const stream = (id?: string) => SseReader.open<LiveMessage>(server.httpUrl + '/dashboard/events' + (id ? '?device=' + id : ''));

beforeAll(async () => {
  server = await startTbServer({
    devices: [
      { name: 'plain', token: 'P' },
      { name: 'idle', token: 'I' },
    ],
    gateways: [{ name: 'gw', token: 'GW' }],
    rpcMinTimeoutMs: 0,
  });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await server.close();
});

describe('dashboard endpoints', () => {
  it('GET /dashboard/devices: online state, last activity, a gateway child under its gateway', async () => {
    const before = Date.now();
    const plain = await connect('P');
    const gw = await connect('GW');
    await publish(gw, 'v1/gateway/connect', { device: 'child-1' });
    await waitFor(() => server.isConnected('child-1'), 'child connected');
    await publish(plain, 'v1/devices/me/telemetry', { t: 1 });
    const list = await devices();
    expect(byName(list, 'plain')).toMatchObject({ active: true, gateway: false, parentGateway: null, type: 'default' });
    expect(byName(list, 'plain').lastActivityTime).toBeGreaterThanOrEqual(before);
    expect(byName(list, 'plain').lastConnectTime).toBeGreaterThanOrEqual(before);
    expect(byName(list, 'gw')).toMatchObject({ active: true, gateway: true });
    expect(byName(list, 'child-1')).toMatchObject({ active: true, parentGateway: 'gw' });
    expect(byName(list, 'child-1').lastActivityTime).toBeGreaterThanOrEqual(before);
    expect(byName(list, 'idle')).toMatchObject({ active: false, lastActivityTime: null, lastConnectTime: null });
    expect(byName(list, 'plain').id).toBe(server.getDevice('plain')!.id);
  });

  it('the stream starts with a snapshot, then carries the watched device\'s telemetry, attributes and log lines only', async () => {
    const plain = await connect('P');
    const id = server.getDevice('plain')!.id;
    const sse = await stream(id);
    try {
      expect(sse.status).toBe(200);
      expect(sse.contentType).toMatch(/^text\/event-stream/);
      const snapshot = await sse.next();
      expect(snapshot.type).toBe('snapshot');
      expect(snapshot.type === 'snapshot' && snapshot.devices.map((d) => d.name).sort()).toEqual(['child-1', 'gw', 'idle', 'plain']);

      await publish(plain, 'v1/devices/me/telemetry', [{ ts: 1000, values: { temp: 20.5 } }, { ts: 2000, values: { temp: 21, state: 'ok' } }]);
      // (The first test's point may come along: it was stored before, but flushed after the snapshot.)
      const t = await sse.next((m) => m.type === 'telemetry' && 'temp' in m.points);
      expect(t).toMatchObject({ type: 'telemetry', deviceId: id, points: { temp: [[1000, 20.5], [2000, 21]], state: [[2000, 'ok']] } });

      // Only later points come again.
      await publish(plain, 'v1/devices/me/telemetry', { ts: 3000, values: { temp: 22 } });
      expect(await sse.next((m) => m.type === 'telemetry')).toMatchObject({ points: { temp: [[3000, 22]] } });

      const rest = await httpJson(server.httpUrl, 'POST', `/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, { interval: 1000 });
      expect(rest.status).toBe(200);
      const shared = await sse.next((m) => m.type === 'attributes' && m.scope === 'SHARED_SCOPE');
      expect(shared).toMatchObject({ deviceId: id, entries: [{ key: 'interval', value: 1000 }] });

      await publish(plain, 'v1/devices/me/attributes', { fw: 'x' });
      expect(await sse.next((m) => m.type === 'attributes' && m.scope === 'CLIENT_SCOPE')).toMatchObject({ entries: [{ key: 'fw', value: 'x' }] });

      await httpJson(server.httpUrl, 'DELETE', `/api/plugins/telemetry/DEVICE/${id}/SHARED_SCOPE?keys=interval`);
      expect(await sse.next((m) => m.type === 'attributes' && m.scope === 'SHARED_SCOPE')).toMatchObject({ entries: [] });

      const log = await sse.next((m) => m.type === 'log');
      expect(log.type === 'log' && log.lines.map((l) => l.text).join('\n')).toContain('[mqtt] plain ->');

      // Another device's data: its summary comes (online, activity), its points do not.
      const gw = clients[1]!;
      await publish(gw, 'v1/gateway/telemetry', { 'child-1': [{ ts: 5000, values: { other: 1 } }] });
      const d = await sse.next((m) => m.type === 'devices' && m.devices.some((x) => x.name === 'child-1'));
      expect(d.type === 'devices' && byName(d.devices, 'child-1').active).toBe(true);
      await publish(plain, 'v1/devices/me/telemetry', { ts: 6000, values: { temp: 23 } });
      const next = await sse.next((m) => m.type === 'telemetry');
      expect(next).toMatchObject({ deviceId: id, points: { temp: [[6000, 23]] } });
    } finally {
      sse.close();
    }
  });

  it('a gateway child\'s data reaches a stream watching the child', async () => {
    const gw = clients[1]!;
    const child = server.getDevice('child-1')!;
    const sse = await stream(child.id);
    try {
      await sse.next((m) => m.type === 'snapshot');
      await publish(gw, 'v1/gateway/telemetry', { 'child-1': [{ ts: 7000, values: { other: 2 } }] });
      expect(await sse.next((m) => m.type === 'telemetry')).toEqual({ type: 'telemetry', deviceId: child.id, points: { other: [[7000, 2]] } });
    } finally {
      sse.close();
    }
  });

  it(`a closed stream is released: ${MAX_CLIENTS + 8} opened and closed one after another all get in, ${MAX_CLIENTS + 1} at once do not`, async () => {
    for (let i = 0; i < MAX_CLIENTS + 8; i++) {
      const sse = await stream();
      expect(sse.status).toBe(200);
      await sse.next((m) => m.type === 'snapshot');
      sse.close();
      // The server sees the socket close a moment later.
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 100));
    const open: SseReader<LiveMessage>[] = [];
    try {
      for (let i = 0; i < MAX_CLIENTS; i++) open.push(await stream());
      expect(open.every((s) => s.status === 200)).toBe(true);
      const extra = await httpJson(server.httpUrl, 'GET', '/dashboard/events');
      expect(extra.status).toBe(503);
      expect(extra.json.message).toMatch(/dashboards are open/);
    } finally {
      for (const s of open) s.close();
    }
  });
});
