// Local ThingsBoard-compatible server: gateway API and provisioning once per MQTT protocol level
// (3 = MQTT 3.1, 4 = 3.1.1, 5), each against a server of its own; the admin REST API once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { closed, httpJson } from '../support/tb-server-helpers';
import { parseServerOptions } from '../../targets/host/cli/server-command';

let server: TbServer;
let level: 3 | 4 | 5 = 4;
const clients: MqttClient[] = [];

function connect(opts: IClientOptions): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: level, ...opts });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

function nextMessage(c: MqttClient, topic: string, ms = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${topic}`)), ms);
    const on = (tp: string, payload: Buffer) => {
      if (tp !== topic) return;
      clearTimeout(t);
      c.off('message', on);
      resolve(JSON.parse(payload.toString()));
    };
    c.on('message', on);
  });
}


const http = (method: string, path: string, body?: unknown) => httpJson(server.httpUrl, method, path, body);

describe.each([3, 4, 5] as const)('MQTT protocol level %i', (protocolLevel) => {
  beforeAll(async () => {
    level = protocolLevel;
    server = await startTbServer({
      gateways: [{ name: 'gw', token: 'GW' }],
      devices: [{ name: 'plain', token: 'P' }],
      provision: { key: 'pkey', secret: 'psecret' },
      provisionCloseMs: 300,
      rpcMinTimeoutMs: 0,
    });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  });

  afterAll(async () => {
    await server.close();
  });

  describe('gateway', () => {
    it('connect creates the child with its type; telemetry and attributes land on the child', async () => {
      const g = await connect({ username: 'GW' });
      await g.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'child-1', type: 'thermo' }), { qos: 1 });
      expect(server.getDevice('child-1')?.type).toBe('thermo');
      await g.publishAsync('v1/gateway/telemetry', JSON.stringify({ 'child-1': [{ ts: 5000, values: { t: 20 } }, { h: 50 }], 'child-2': [{ t: 1 }] }), { qos: 1 });
      await g.publishAsync('v1/gateway/attributes', JSON.stringify({ 'child-1': { model: 'X' } }), { qos: 1 });
      expect(server.latestTelemetry('child-1').t).toEqual({ ts: 5000, value: 20 });
      expect(server.latestTelemetry('child-1').h!.value).toBe(50);
      expect(server.getDevice('child-2')?.type).toBe('default');
      expect(server.attributes('child-1', 'client')).toEqual({ model: 'X' });
      expect(server.isConnected('child-2')).toBe(true);
      const id = server.getDevice('child-1')!.id;
      const rest = await http('GET', `/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=t&useStrictDataTypes=true`);
      expect(rest.json).toEqual({ t: [{ ts: 5000, value: 20 }] });
    });

    it('server RPC to a child goes over v1/gateway/rpc and the reply comes back over REST', async () => {
      const g = await connect({ username: 'GW' });
      await g.subscribeAsync('v1/gateway/rpc', { qos: 1 });
      await g.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'child-3' }), { qos: 1 });
      g.on('message', (topic, payload) => {
        if (topic !== 'v1/gateway/rpc') return;
        const m = JSON.parse(payload.toString()) as { device: string; data: { id: number; method: string; params: unknown } };
        g.publish('v1/gateway/rpc', JSON.stringify({ device: m.device, id: m.data.id, data: { got: m.data.method, params: m.data.params } }), { qos: 1 });
      });
      const id = server.getDevice('child-3')!.id;
      const r = await http('POST', `/api/plugins/rpc/twoway/${id}`, { method: 'getGpioStatus', params: { pin: 4 } });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ got: 'getGpioStatus', params: { pin: 4 } });
    });

    it('shared attributes of a child arrive on v1/gateway/attributes; attribute request -> value / values', async () => {
      const g = await connect({ username: 'GW' });
      await g.subscribeAsync(['v1/gateway/attributes', 'v1/gateway/attributes/response'], { qos: 1 });
      await g.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'child-4' }), { qos: 1 });
      let msg = nextMessage(g, 'v1/gateway/attributes');
      server.setSharedAttributes('child-4', { sp: 22, mode: 'eco' });
      expect(await msg).toEqual({ device: 'child-4', data: { sp: 22, mode: 'eco' } });
      msg = nextMessage(g, 'v1/gateway/attributes');
      server.deleteSharedAttributes('child-4', ['mode']);
      expect(await msg).toEqual({ device: 'child-4', data: { deleted: ['mode'] } });
      server.setSharedAttributes('child-4', { other: true });
      await nextMessage(g, 'v1/gateway/attributes');
      msg = nextMessage(g, 'v1/gateway/attributes/response');
      g.publish('v1/gateway/attributes/request', JSON.stringify({ id: 1, device: 'child-4', client: false, key: 'sp' }));
      expect(await msg).toEqual({ id: 1, device: 'child-4', value: 22 });
      msg = nextMessage(g, 'v1/gateway/attributes/response');
      g.publish('v1/gateway/attributes/request', JSON.stringify({ id: 2, device: 'child-4', client: false, keys: ['sp', 'other', 'nope'] }));
      expect(await msg).toEqual({ id: 2, device: 'child-4', values: { sp: 22, other: true } });
    });

    it('children lose their session when the gateway disconnects: RPC to them gets 409', async () => {
      const g = await connect({ username: 'GW' });
      await g.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'child-5' }), { qos: 1 });
      expect(server.isConnected('child-5')).toBe(true);
      await g.endAsync();
      await new Promise((r) => setTimeout(r, 50));
      expect(server.isConnected('child-5')).toBe(false);
      const r = await http('POST', `/api/plugins/rpc/twoway/${server.getDevice('child-5')!.id}`, { method: 'x', timeout: 100 });
      expect(r.status).toBe(409);
    });

    it('gateway disconnect message and claim; a wrong shape drops the gateway (MQTT 5: PUBACK 0x99, kept)', async () => {
      const g = await connect({ username: 'GW' });
      await g.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'child-6' }), { qos: 1 });
      await g.publishAsync('v1/gateway/claim', JSON.stringify({ 'child-6': { secretKey: 'k6', durationMs: 1000 } }), { qos: 1 });
      expect(server.claims.find((c) => c.device === 'child-6')).toMatchObject({ secretKey: 'k6', durationMs: 1000 });
      await g.publishAsync('v1/gateway/disconnect', JSON.stringify({ device: 'child-6' }), { qos: 1 });
      expect(server.isConnected('child-6')).toBe(false);
      if (level === 5) {
        const rc = await g.publishAsync('v1/gateway/telemetry', JSON.stringify({ 'child-6': 5 }), { qos: 1 }).then(() => 0, (e: { code?: number }) => e.code);
        expect(rc).toBe(0x99);
        expect(g.connected).toBe(true);
        return;
      }
      const gone = closed(g);
      g.publish('v1/gateway/telemetry', JSON.stringify({ 'child-6': 5 }), { qos: 1 });
      await gone;
    });
  });

  describe('provisioning', () => {
    const request = (extra: object) => JSON.stringify({ provisionDeviceKey: 'pkey', provisionDeviceSecret: 'psecret', ...extra });

    it('SUCCESS with a generated token; the new device can connect; session closed after the answer', async () => {
      const p = await connect({ username: 'provision', clientId: 'prov-1' });
      await p.subscribeAsync('/provision/response', { qos: 1 });
      const msg = nextMessage(p, '/provision/response');
      const gone = closed(p, 2000);
      p.publish('/provision/request', request({ deviceName: 'new-1' }), { qos: 1 });
      const resp = (await msg) as { status: string; credentialsType: string; credentialsValue: string };
      expect(resp.status).toBe('SUCCESS');
      expect(resp.credentialsType).toBe('ACCESS_TOKEN');
      await gone;
      const d = await connect({ username: resp.credentialsValue });
      expect(d.connected).toBe(true);
    });

    it('SUCCESS with MQTT_BASIC credentials (userName) and with a given token', async () => {
      const p = await connect({ clientId: 'provision', username: 'whatever' });
      let msg = nextMessage(p, '/provision/response');
      p.publish('/provision/request', request({ deviceName: 'new-2', credentialsType: 'MQTT_BASIC', clientId: 'c2', username: 'u2', password: 'p2' }));
      expect(await msg).toEqual({ status: 'SUCCESS', credentialsType: 'MQTT_BASIC', credentialsValue: { clientId: 'c2', userName: 'u2', password: 'p2' } });
      msg = nextMessage(p, '/provision/response');
      p.publish('/provision/request', request({ deviceName: 'new-3', token: 'TOK3' }));
      expect(await msg).toEqual({ status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN', credentialsValue: 'TOK3' });
      const b = await connect({ clientId: 'c2', username: 'u2', password: 'p2' });
      expect(b.connected).toBe(true);
    });

    it('NOT_FOUND for a wrong secret, FAILURE when the device exists', async () => {
      const p = await connect({ username: 'provision' });
      let msg = nextMessage(p, '/provision/response');
      p.publish('/provision/request', JSON.stringify({ provisionDeviceKey: 'pkey', provisionDeviceSecret: 'bad', deviceName: 'x' }));
      expect(await msg).toEqual({ status: 'NOT_FOUND', errorMsg: 'Provision data was not found!' });
      msg = nextMessage(p, '/provision/response');
      p.publish('/provision/request', request({ deviceName: 'plain' }));
      expect(await msg).toEqual({ status: 'FAILURE', errorMsg: 'Failed to provision device!' });
    });

    it('a provisioning session may not subscribe or publish elsewhere', async () => {
      const p = await connect({ username: 'provision' });
      const refused = await p.subscribeAsync('v1/devices/me/attributes', { qos: 1 }).catch((e: { packet?: { granted?: number[] } }) => e);
      expect((refused as { packet?: { granted?: number[] } }).packet?.granted).toEqual([level === 5 ? 0x8f : 0x80]);
      const gone = closed(p);
      p.publish('v1/devices/me/telemetry', '{"a":1}', { qos: 1 });
      await gone;
    });
  });

  // REST and the command line do not depend on the MQTT level: once, at 3.1.1.
  if (protocolLevel === 4) {
  describe('REST API', () => {
    it('creates devices (and gateways) and finds them by name', async () => {
      const r = await http('POST', '/api/device', { name: 'rest-1', type: 'sensor', token: 'R1' });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ name: 'rest-1', type: 'sensor', token: 'R1', id: { id: expect.any(String) } });
      const found = await http('GET', '/api/tenant/devices?deviceName=rest-1');
      expect(found.json.id.id).toBe(r.json.id.id);
      expect((await http('GET', '/api/tenant/devices?deviceName=nobody')).status).toBe(404);
      expect((await http('POST', '/api/device', { name: 'rest-1' })).status).toBe(400);
      const gw = await http('POST', '/api/device', { name: 'rest-gw', gateway: true });
      expect(gw.json.additionalInfo.gateway).toBe(true);
      const g = await connect({ username: gw.json.token });
      await g.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'rest-child' }), { qos: 1 });
      expect(server.getDevice('rest-child')?.parentGateway).toBe('rest-gw');
    });

    it('400 on bad JSON, 404 on unknown device and route, 413 on a huge body', async () => {
      const bad = await http('POST', '/api/device', '{nope');
      expect(bad.status).toBe(400);
      expect(bad.json.message).toMatch(/JSON/);
      expect((await http('POST', '/api/plugins/rpc/twoway/00000000-0000-0000-0000-000000000000', { method: 'x' })).status).toBe(404);
      expect((await http('GET', '/api/nothing')).status).toBe(404);
      expect((await http('POST', '/api/device', { name: 'big', pad: 'x'.repeat(70_000) })).status).toBe(413);
      const id = server.getDevice('plain')!.id;
      expect((await http('POST', `/api/plugins/rpc/twoway/${id}`, { params: {} })).status).toBe(400);
    });
  });

  describe('command line', () => {
    it('tbxs server parses ports, devices, gateways and provisioning keys', () => {
      expect(parseServerOptions(['--mqtt-port', '1884', '--device', 'd:T', '--gateway', 'g:G', '--provision-key', 'k', '--provision-secret', 's'])).toEqual({
        mqttPort: 1884,
        httpPort: 8080,
        host: '127.0.0.1',
        devices: [{ name: 'd', token: 'T' }],
        gateways: [{ name: 'g', token: 'G' }],
        provision: { key: 'k', secret: 's' },
        quiet: undefined,
      });
      expect(() => parseServerOptions(['--bogus', '1'])).toThrow(/unknown option/);
      expect(() => parseServerOptions(['--provision-key', 'k'])).toThrow(/go together/);
    });
  });
  }
});
