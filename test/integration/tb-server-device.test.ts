// Local ThingsBoard-compatible server: device MQTT API driven by MQTT.js over real TCP, once per
// protocol level (3 = MQTT 3.1, 4 = 3.1.1, 5), each level against a server of its own.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { formatEvent, startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { closed, httpJson } from '../support/tb-server-helpers';

let server: TbServer;
let level: 3 | 4 | 5 = 4;
const clients: MqttClient[] = [];
/** The MQTT 5 reason code when the level is 5, else the MQTT 3.1.1 code. */
const byLevel = (v311: number, v5: number): number => (level === 5 ? v5 : v311);

function connect(opts: IClientOptions): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: level, ...opts });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

function refusal(opts: IClientOptions): Promise<number> {
  return connect(opts).then(
    () => -1,
    (e: { code?: number }) => e.code ?? -2,
  );
}

function nextMessage(c: MqttClient, topic: string | RegExp, ms = 3000): Promise<{ topic: string; json: unknown; raw: string }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${topic}`)), ms);
    const on = (tp: string, payload: Buffer) => {
      if (typeof topic === 'string' ? tp !== topic : !topic.test(tp)) return;
      clearTimeout(t);
      c.off('message', on);
      const raw = payload.toString();
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      resolve({ topic: tp, json, raw });
    };
    c.on('message', on);
  });
}


const http = (method: string, path: string, body?: unknown) => httpJson(server.httpUrl, method, path, body);

const dev = (name: string) => server.getDevice(name)!;

describe.each([3, 4, 5] as const)('MQTT protocol level %i', (protocolLevel) => {
  beforeAll(async () => {
    level = protocolLevel;
    server = await startTbServer({
      mqttPort: 0,
      httpPort: 0,
      devices: [
        { name: 'd1', token: 'T1' },
        { name: 'd2', token: 'T2' },
        { name: 'd3', token: 'T3' },
      ],
      basicDevices: [{ name: 'b1', clientId: 'bc', username: 'bu', password: 'bp' }],
      rpcMinTimeoutMs: 0,
      clientRpc: { echo: (p) => p },
    });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  });

  afterAll(async () => {
    await server.close();
  });

  describe('CONNECT', () => {
    it('accepts an access token and refuses an unknown one with CONNACK 5 (MQTT 5: 0x86), logging why', async () => {
      const lines: string[] = [];
      const off = server.onEvent((e) => lines.push(formatEvent(e)));
      const c = await connect({ username: 'T1', clientId: 'c1' });
      expect(c.connected).toBe(true);
      expect(await refusal({ username: 'nope', clientId: 'c2' })).toBe(byLevel(5, 0x86));
      off();
      expect(lines.some((l) => l.includes(`clientId "c2", username "nope"): CONNACK 0x${byLevel(5, 0x86).toString(16).padStart(2, '0')}, bad credentials: no device has access token "nope"`))).toBe(true);
    });

    it('refuses no username and no password with CONNACK 2 (MQTT 5: 0x85)', async () => {
      expect(await refusal({ clientId: 'lonely' })).toBe(byLevel(2, 0x85));
    });

    it('accepts MQTT basic credentials and refuses a wrong password', async () => {
      const c = await connect({ clientId: 'bc', username: 'bu', password: 'bp' });
      expect(c.connected).toBe(true);
      expect(await refusal({ clientId: 'bc', username: 'bu', password: 'wrong' })).toBe(byLevel(5, 0x86));
    });

    it('a second connection with the same token evicts the first', async () => {
      const a = await connect({ username: 'T2', clientId: 'first' });
      const gone = closed(a);
      const told = new Promise<number | undefined>((r) => a.once('disconnect', (p) => r(p.reasonCode)));
      const b = await connect({ username: 'T2', clientId: 'second' });
      await gone;
      // MQTT 5: the older session is told why (0x8E Session taken over); before 5 it is just closed.
      if (level === 5) expect(await told).toBe(0x8e);
      expect(b.connected).toBe(true);
      expect(server.sessions().filter((s) => s.device === 'd2')).toHaveLength(1);
    });

    it('sessionPresent = !cleanSession, but subscriptions are not kept', async () => {
      const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, username: 'T3', clientId: 'keep', clean: false, reconnectPeriod: 0, protocolVersion: level });
      clients.push(c);
      const connack = await new Promise<{ sessionPresent: boolean }>((r) => c.once('connect', r));
      expect(connack.sessionPresent).toBe(true);
      expect(server.sessions().find((s) => s.device === 'd3')?.subscriptions).toEqual({});
    });
  });

  describe('SUBSCRIBE', () => {
    it('grants listed filters (QoS 2 -> 1) and refuses others with 0x80 (MQTT 5: 0x8F), connection stays', async () => {
      const c = await connect({ username: 'T1' });
      const granted = await c.subscribeAsync({ 'v1/devices/me/attributes': { qos: 2 }, 'v1/devices/me/rpc/request/+': { qos: 0 } });
      expect(Object.fromEntries(granted.map((g) => [g.topic, g.qos]))).toEqual({ 'v1/devices/me/attributes': 1, 'v1/devices/me/rpc/request/+': 0 });
      // MQTT.js reports a 0x80 return code as an error carrying the SUBACK.
      const refused = await c.subscribeAsync({ 'foo/#': { qos: 1 }, 'v1/devices/me/rpc/response/+': { qos: 1 } }).catch((e: { packet?: { granted?: number[] } }) => e);
      expect((refused as { packet?: { granted?: number[] } }).packet?.granted).toEqual([byLevel(0x80, 0x8f), 1]);
      expect(c.connected).toBe(true);
    });
  });

  describe('telemetry and attributes', () => {
    it('stores flat, {ts,values} and arrays; unknown topics are acked (MQTT 5: with 0x90)', async () => {
      const c = await connect({ username: 'T1' });
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ temp: 21.5, ok: true, n: '42', skip: null }), { qos: 1 });
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify([{ ts: 1000, values: { hum: 40 } }, { ts: 2000, values: { hum: 41 } }]), { qos: 1 });
      const unknown = await c.publishAsync('some/unknown/topic', 'whatever', { qos: 1 }).then(() => 0, (e: { code?: number }) => e.code);
      expect(unknown).toBe(byLevel(0, 0x90));
      const t = server.latestTelemetry('d1');
      expect(t.temp!.value).toBe(21.5);
      expect(t.ok!.value).toBe(true);
      expect(t.n!.value).toBe(42);
      expect(t.skip).toBeUndefined();
      expect(t.hum).toEqual({ ts: 2000, value: 41 });
      expect(c.connected).toBe(true);
      const rest = await http('GET', `/api/plugins/telemetry/DEVICE/${dev('d1').id}/values/timeseries?keys=hum,temp`);
      expect(rest.json).toEqual({ hum: [{ ts: 2000, value: '41' }], temp: [{ ts: t.temp!.ts, value: '21.5' }] });
      const strict = await http('GET', `/api/plugins/telemetry/DEVICE/${dev('d1').id}/values/timeseries?keys=hum&useStrictDataTypes=true`);
      expect(strict.json).toEqual({ hum: [{ ts: 2000, value: 41 }] });
    });

    it("history query: startTs <= ts < endTs, limit, orderBy, one value per ts (a resend with the same ts rewrites it), as ThingsBoard's", async () => {
      const c = await connect({ username: 'T2' });
      const entries = [3000, 1000, 2000, 4000].map((ts) => ({ ts, values: { h: ts / 1000 } }));
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify(entries), { qos: 1 });
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ts: 2000, values: { h: 22 } }), { qos: 1 }); // same ts again
      const base = `/api/plugins/telemetry/DEVICE/${dev('d2').id}/values/timeseries?keys=h,none`;
      expect((await http('GET', base + '&startTs=1000&endTs=4000')).json).toEqual({ h: [{ ts: 3000, value: '3' }, { ts: 2000, value: '22' }, { ts: 1000, value: '1' }] });
      expect((await http('GET', base + '&startTs=0&endTs=5000&limit=2&orderBy=ASC&useStrictDataTypes=true')).json).toEqual({ h: [{ ts: 1000, value: 1 }, { ts: 2000, value: 22 }] });
      expect((await http('GET', base + '&startTs=0&endTs=5000&limit=1')).json).toEqual({ h: [{ ts: 4000, value: '4' }] });
      expect((await http('GET', base + '&startTs=5000&endTs=6000')).json).toEqual({});
      expect((await http('GET', base + '&startTs=0')).status).toBe(400);
      expect((await http('GET', base + '&startTs=0&endTs=1&orderBy=UP')).status).toBe(400);
      expect((await http('GET', base + '&startTs=0&endTs=1&agg=AVG')).status).toBe(400);
    });

    it('answers attribute requests with string keys; empty groups omitted, unknown keys dropped', async () => {
      const c = await connect({ username: 'T1' });
      await c.publishAsync('v1/devices/me/attributes', JSON.stringify({ fw: 'v1.0', mode: 'a', num: '3.5' }), { qos: 1 });
      server.setSharedAttributes('d1', { period: 5, name: 'x' });
      await c.subscribeAsync('v1/devices/me/attributes/response/+', { qos: 1 });
      let resp = nextMessage(c, 'v1/devices/me/attributes/response/7');
      await c.publishAsync('v1/devices/me/attributes/request/7', JSON.stringify({ clientKeys: 'fw,nope', sharedKeys: 'period' }));
      expect((await resp).json).toEqual({ client: { fw: 'v1.0' }, shared: { period: 5 } });
      resp = nextMessage(c, 'v1/devices/me/attributes/response/8');
      await c.publishAsync('v1/devices/me/attributes/request/8', JSON.stringify({ sharedKeys: 'nope' }));
      expect((await resp).json).toEqual({});
      resp = nextMessage(c, 'v1/devices/me/attributes/response/9');
      await c.publishAsync('v1/devices/me/attributes/request/9', '{}');
      expect((await resp).json).toEqual({ client: { fw: 'v1.0', mode: 'a', num: 3.5 }, shared: { period: 5, name: 'x' } });
      const attrs = await http('GET', `/api/plugins/telemetry/DEVICE/${dev('d1').id}/values/attributes?keys=fw,period`);
      expect((attrs.json as { key: string; value: unknown }[]).map((a) => [a.key, a.value])).toEqual([['fw', 'v1.0'], ['period', 5]]);
    });

    it('keys given as a JSON array: disconnects (MQTT 5: PUBACK 0x99, the session stays)', async () => {
      const c = await connect({ username: 'T1' });
      if (level === 5) {
        const rc = await c.publishAsync('v1/devices/me/attributes/request/1', JSON.stringify({ clientKeys: ['fw'] }), { qos: 1 }).then(() => 0, (e: { code?: number }) => e.code);
        expect(rc).toBe(0x99);
        expect(c.connected).toBe(true);
        return;
      }
      const gone = closed(c);
      c.publish('v1/devices/me/attributes/request/1', JSON.stringify({ clientKeys: ['fw'] }), { qos: 1 });
      await gone;
    });

    it('invalid JSON at QoS 1 disconnects (MQTT 5: PUBACK 0x99); a wrong shape at QoS 0 disconnects at every level', async () => {
      const a = await connect({ username: 'T1' });
      let gone: Promise<void>;
      if (level === 5) {
        const rc = await a.publishAsync('v1/devices/me/telemetry', '{not json', { qos: 1 }).then(() => 0, (e: { code?: number }) => e.code);
        expect(rc).toBe(0x99);
        expect(a.connected).toBe(true);
      } else {
        gone = closed(a);
        a.publish('v1/devices/me/telemetry', '{not json', { qos: 1 });
        await gone;
      }
      const b = await connect({ username: 'T1' });
      const told = new Promise<number | undefined>((r) => b.once('disconnect', (p) => r(p.reasonCode)));
      gone = closed(b);
      b.publish('v1/devices/me/attributes', '[1,2]', { qos: 0 });
      await gone;
      if (level === 5) expect(await told).toBe(0x99);
    });

    it('pushes shared attribute updates and deletions only to a subscribed session', async () => {
      const c = await connect({ username: 'T2' });
      await c.subscribeAsync('v1/devices/me/attributes', { qos: 1 });
      let msg = nextMessage(c, 'v1/devices/me/attributes');
      const r = await http('POST', `/api/plugins/telemetry/DEVICE/${dev('d2').id}/attributes/SHARED_SCOPE`, { led: true, period: 10 });
      expect(r.status).toBe(200);
      expect((await msg).json).toEqual({ led: true, period: 10 });
      msg = nextMessage(c, 'v1/devices/me/attributes');
      const d = await http('DELETE', `/api/plugins/telemetry/DEVICE/${dev('d2').id}/SHARED_SCOPE?keys=led`);
      expect(d.status).toBe(200);
      expect((await msg).json).toEqual({ deleted: ['led'] });
      expect(server.attributes('d2', 'shared')).toEqual({ period: 10 });
      const other = await connect({ username: 'T3' });
      const got: string[] = [];
      other.on('message', (t) => got.push(t));
      server.setSharedAttributes('d3', { x: 1 });
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual([]);
    });

    it('records claims; repeating while pending does not extend', async () => {
      const c = await connect({ username: 'T3' });
      await c.publishAsync('v1/devices/me/claim', JSON.stringify({ secretKey: 's3', durationMs: 60000 }), { qos: 1 });
      await c.publishAsync('v1/devices/me/claim', JSON.stringify({ secretKey: 'other', durationMs: 90000 }), { qos: 1 });
      const mine = server.claims.filter((x) => x.device === 'd3');
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ secretKey: 's3', durationMs: 60000 });
    });
  });

  describe('RPC', () => {
    it('two-way round trip over REST, ids from 0 per device', async () => {
      const c = await connect({ username: 'T3' });
      await c.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
      c.on('message', (topic, payload) => {
        const m = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
        if (!m) return;
        const req = JSON.parse(payload.toString()) as { method: string; params: unknown };
        c.publish(`v1/devices/me/rpc/response/${m[1]}`, JSON.stringify({ id: Number(m[1]), method: req.method, params: req.params }));
      });
      const r = await http('POST', `/api/plugins/rpc/twoway/${dev('d3').id}`, { method: 'getGpioStatus', params: { a: 1 } });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ id: 0, method: 'getGpioStatus', params: { a: 1 } });
      expect(await server.sendRpc('d3', 'ping', null)).toEqual({ id: 1, method: 'ping', params: null });
    });

    it('504 when a subscribed device does not answer; 409 when nothing is subscribed', async () => {
      const c = await connect({ username: 'T2' });
      await c.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 0 });
      const got = nextMessage(c, /^v1\/devices\/me\/rpc\/request\/\d+$/);
      const r = await http('POST', `/api/plugins/rpc/twoway/${dev('d2').id}`, { method: 'slow', params: {}, timeout: 200 });
      expect(r.status).toBe(504);
      expect((await got).json).toEqual({ method: 'slow', params: {} });
      const offline = await http('POST', `/api/plugins/rpc/oneway/${dev('b1').id}`, { method: 'x', timeout: 100 });
      expect(offline.status).toBe(409);
    });

    it('one-way completes when delivered; a request pending for a late subscriber is pushed on SUBSCRIBE', async () => {
      const c = await connect({ username: 'T1' });
      const pending = http('POST', `/api/plugins/rpc/oneway/${dev('d1').id}`, { method: 'setGpioStatus', params: { pin: 2, enabled: true } });
      await new Promise((r) => setTimeout(r, 50));
      const msg = nextMessage(c, /^v1\/devices\/me\/rpc\/request\/\d+$/);
      await c.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
      expect((await msg).json).toEqual({ method: 'setGpioStatus', params: { pin: 2, enabled: true } });
      const r = await pending;
      expect(r.status).toBe(200);
      expect(r.text).toBe('');
    });

    it('client-side RPC: getSessionLimits, a registered handler, unknown methods, and no "method" drops', async () => {
      const c = await connect({ username: 'T1' });
      await c.subscribeAsync('v1/devices/me/rpc/response/+', { qos: 1 });
      let resp = nextMessage(c, 'v1/devices/me/rpc/response/1');
      c.publish('v1/devices/me/rpc/request/1', JSON.stringify({ method: 'getSessionLimits', params: {} }));
      expect((await resp).json).toMatchObject({ maxPayloadSize: 65536, rateLimits: { messages: '' } });
      resp = nextMessage(c, 'v1/devices/me/rpc/response/2');
      c.publish('v1/devices/me/rpc/request/2', JSON.stringify({ method: 'echo', params: { a: [1] } }));
      expect((await resp).json).toEqual({ a: [1] });
      resp = nextMessage(c, 'v1/devices/me/rpc/response/3');
      c.publish('v1/devices/me/rpc/request/3', JSON.stringify({ method: 'nope' }));
      expect((await resp).json).toHaveProperty('error');
      const gone = closed(c);
      c.publish('v1/devices/me/rpc/request/4', JSON.stringify({ params: {} }));
      await gone;
    });
  });

  describe('limits', () => {
    it('closes the connection on a packet over 64 KiB (MQTT 5: DISCONNECT 0x95 first)', async () => {
      const c = await connect({ username: 'T1' });
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ pad: 'x'.repeat(60_000) }), { qos: 1 });
      expect(c.connected).toBe(true);
      const big = JSON.stringify({ pad: 'x'.repeat(70_000) });
      const told = new Promise<number | undefined>((r) => c.once('disconnect', (p) => r(p.reasonCode)));
      const gone = closed(c);
      c.publish('v1/devices/me/telemetry', big, { qos: 1 });
      await gone;
      if (level === 5) expect(await told).toBe(0x95); // Packet too large
      expect(server.latestTelemetry('d1').pad!.value).toHaveLength(60_000);
    });

    it('stop and start MQTT on the same port keeps the registry', async () => {
      const port = server.mqttPort;
      const c = await connect({ username: 'T1' });
      const gone = closed(c);
      await server.stopMqtt();
      await gone;
      await server.startMqtt();
      expect(server.mqttPort).toBe(port);
      const again = await connect({ username: 'T1' });
      expect(again.connected).toBe(true);
      expect(server.latestTelemetry('d1').hum!.value).toBe(41);
    });
  });
});
