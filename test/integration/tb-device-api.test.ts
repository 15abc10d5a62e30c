import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/platform/log';
import type { Platform } from '../../src/platform/platform';
import { MemoryStore } from '../../src/platform/store';
import { openDevice, type DeviceConnection, type DeviceConnectionConfig } from '../../src/thingsboard/device-connection';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { nodePlatform } from '../../targets/host/platform/node-platform';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { waitFor } from '../support/wait';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(extra: Parameters<typeof startTbServer>[0] = {}): Promise<TbServer> {
  const s = await startTbServer({ mqttPort: 0, httpPort: 0, rpcMinTimeoutMs: 0, devices: [{ name: 'dev1', token: 'TOKEN1' }], ...extra });
  cleanups.push(() => s.close());
  return s;
}

function platform(store = new MemoryStore()): Platform {
  return { clock: nodeClock, connector: new NodeConnector(), store, log: silentLog };
}

async function device(s: TbServer, config: Partial<DeviceConnectionConfig> = {}, p: Platform = platform()): Promise<DeviceConnection> {
  const conn = await openDevice(p, {
    host: '127.0.0.1',
    port: s.mqttPort,
    credentials: { type: 'ACCESS_TOKEN', token: 'TOKEN1' },
    session: { reconnect: { initialMs: 50, maxMs: 300 } },
    ...config,
  });
  cleanups.push(() => conn.close());
  await waitFor(() => conn.session.connected, 'device connected');
  return conn;
}

describe('Device API against the local server', () => {
  it('telemetry in every shape and client attributes reach the server', async () => {
    const s = await server();
    const { client } = await device(s);
    await client.sendTelemetry({ temperature: 21.5 });
    await client.sendTelemetry({ ts: 1_700_000_000_000, values: { humidity: 40 } });
    await client.sendTelemetry([{ ts: 1_700_000_001_000, values: { pressure: 1013 } }, { battery: 3.7 }]);
    await client.sendAttributes({ firmware: 'tbxs', pins: { led: 2 } });
    await waitFor(() => Object.keys(s.latestTelemetry('dev1')).length === 4, 'four telemetry keys');
    const t = s.latestTelemetry('dev1');
    expect(t.temperature.value).toBe(21.5);
    expect(t.humidity).toEqual({ ts: 1_700_000_000_000, value: 40 });
    expect(t.pressure.ts).toBe(1_700_000_001_000);
    expect(s.attributes('dev1', 'client')).toMatchObject({ firmware: 'tbxs', pins: { led: 2 } });
  });

  it('requests attributes by scope and key', async () => {
    const s = await server();
    const { client } = await device(s);
    await client.sendAttributes({ mode: 'eco', version: 3 });
    s.setSharedAttributes('dev1', { telemetryIntervalMs: 2000, label: 'kitchen' });
    const some = await client.requestAttributes({ clientKeys: ['mode', 'missing'], sharedKeys: ['telemetryIntervalMs'] });
    expect(some).toEqual({ client: { mode: 'eco' }, shared: { telemetryIntervalMs: 2000 } });
    const all = await client.requestAttributes();
    expect(all.shared).toEqual({ telemetryIntervalMs: 2000, label: 'kitchen' });
    expect(all.client).toMatchObject({ mode: 'eco', version: 3 });
    const none = await client.requestAttributes({ sharedKeys: ['nothing'] });
    expect(none).toEqual({ client: {}, shared: {} });
  });

  it('receives shared attribute updates and deletions', async () => {
    const s = await server();
    const { client } = await device(s);
    const updates: unknown[] = [];
    client.onSharedAttributes((u) => updates.push(u));
    await waitFor(() => s.sessions().some((x) => 'v1/devices/me/attributes' in x.subscriptions), 'subscription');
    s.setSharedAttributes('dev1', { a: 1, b: 'x' });
    s.deleteSharedAttributes('dev1', ['b']);
    await waitFor(() => updates.length === 2, 'two updates');
    expect(updates).toEqual([
      { values: { a: 1, b: 'x' }, deleted: [] },
      { values: {}, deleted: ['b'] },
    ]);
  });

  it('server-side RPC: a method, an unknown method, a handler that throws', async () => {
    const s = await server();
    const { client } = await device(s);
    client.onRpc('getGpioStatus', () => ({ '2': false, '4': true }));
    client.onRpc('explode', () => {
      throw new Error('sensor bus locked');
    });
    await waitFor(() => s.sessions().some((x) => 'v1/devices/me/rpc/request/+' in x.subscriptions), 'rpc subscription');
    expect(await s.sendRpc('dev1', 'getGpioStatus', {}, { timeoutMs: 3000 })).toEqual({ '2': false, '4': true });
    expect(await s.sendRpc('dev1', 'noSuchMethod', {}, { timeoutMs: 3000 })).toEqual({ error: 'unknown method: noSuchMethod' });
    const failed = (await s.sendRpc('dev1', 'explode', null, { timeoutMs: 3000 })) as { error: string };
    expect(failed.error).toContain('sensor bus locked');
    // Both directions at once: two RPCs in flight together.
    client.onRpc('slowEcho', (p) => new Promise((r) => setTimeout(() => r(p as never), 50)));
    const [a, b] = await Promise.all([s.sendRpc('dev1', 'slowEcho', { n: 1 }, { timeoutMs: 3000 }), s.sendRpc('dev1', 'slowEcho', { n: 2 }, { timeoutMs: 3000 })]);
    expect([a, b]).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('client-side RPC and claiming', async () => {
    const s = await server({ clientRpc: { getCurrentTime: () => ({ time: 123 }) } });
    const { client } = await device(s);
    expect(await client.callRpc('getCurrentTime', {})).toEqual({ time: 123 });
    const limits = (await client.callRpc('getSessionLimits', {})) as Record<string, unknown>;
    expect(limits.maxPayloadSize).toBe(65536);
    await client.claim({ secretKey: 'abc', durationMs: 30_000 });
    await waitFor(() => s.claims.length === 1, 'claim recorded');
    expect(s.claims[0]).toMatchObject({ device: 'dev1', secretKey: 'abc', durationMs: 30_000 });
  });

  it('a request whose answer never comes fails with a timeout', async () => {
    const s = await server();
    const { client } = await device(s);
    await s.stopMqtt();
    const started = Date.now();
    await expect(client.requestAttributes({ sharedKeys: ['x'] }, 400)).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('the server restarting mid-session: reconnect, resubscribe, nothing queued is lost', async () => {
    const s = await server();
    const { client, session } = await device(s);
    client.onRpc('ping', () => 'pong');
    let connects = 0;
    session.events.on('connect', () => void connects++);
    await s.stopMqtt();
    // Own time stamps: the server keeps one value per key and ts, and two arriving in the same
    // millisecond would get the same one from it (as on ThingsBoard).
    const sent = [client.sendTelemetry({ ts: 1000, values: { seq: 1 } }), client.sendTelemetry({ ts: 2000, values: { seq: 2 } })];
    await new Promise((r) => setTimeout(r, 200));
    await s.startMqtt();
    await Promise.all(sent);
    await waitFor(() => s.telemetryHistory('dev1', 'seq').length === 2, 'both readings');
    expect(connects).toBeGreaterThanOrEqual(1);
    await waitFor(() => s.sessions().some((x) => 'v1/devices/me/rpc/request/+' in x.subscriptions), 'resubscribed');
    expect(await s.sendRpc('dev1', 'ping', null, { timeoutMs: 3000 })).toBe('pong');
  });

  it('an unknown token is refused with a clear error and no tight reconnect loop', async () => {
    const s = await server();
    const conn = await openDevice(platform(), { host: '127.0.0.1', port: s.mqttPort, credentials: { type: 'ACCESS_TOKEN', token: 'WRONG' } });
    cleanups.push(() => conn.close());
    const errors: string[] = [];
    conn.session.events.on('error', (e) => errors.push(e.message));
    await waitFor(() => errors.length > 0, 'refusal');
    expect(errors[0]).toMatch(/CONNACK 5: not authorized/);
    await new Promise((r) => setTimeout(r, 500));
    expect(errors.length).toBe(1);
  });
});

describe('Provisioning against the local server', () => {
  const provision = { provisionDeviceKey: 'PKEY', provisionDeviceSecret: 'PSECRET' };

  it('provisions once, stores the credentials, and uses them on the next start', async () => {
    const s = await server({ provision: { key: 'PKEY', secret: 'PSECRET' } });
    const dir = mkdtempSync(join(tmpdir(), 'tbxs-state-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await device(s, { credentials: undefined, provisioning: { ...provision, deviceName: 'sensor-7' } }, nodePlatform(dir, silentLog));
    expect(first.source).toBe('provisioned');
    expect(first.credentials.type).toBe('ACCESS_TOKEN');
    await first.client.sendTelemetry({ t: 1 });
    first.close();
    // A fresh process: a new platform over the same state directory.
    const second = await device(s, { credentials: undefined, provisioning: { ...provision, deviceName: 'sensor-7' } }, nodePlatform(dir, silentLog));
    expect(second.source).toBe('store');
    expect(second.credentials).toEqual(first.credentials);
    await second.client.sendTelemetry({ t: 2 });
    await waitFor(() => s.telemetryHistory('sensor-7', 't').length === 2, 'telemetry from both runs');
    expect(s.registry.all().filter((d) => d.name === 'sensor-7').length).toBe(1);
  });

  it('MQTT_BASIC provisioning gives basic credentials that connect', async () => {
    const s = await server({ provision: { key: 'PKEY', secret: 'PSECRET' } });
    const conn = await device(s, {
      credentials: undefined,
      provisioning: { ...provision, deviceName: 'basic-1', credentialsType: 'MQTT_BASIC', clientId: 'cid-1', username: 'user-1', password: 'pw-1' },
    });
    expect(conn.credentials).toEqual({ type: 'MQTT_BASIC', clientId: 'cid-1', username: 'user-1', password: 'pw-1' });
    expect(conn.session.connected).toBe(true);
  });

  it('wrong provision secret: NOT_FOUND; an existing name: FAILURE', async () => {
    const s = await server({ provision: { key: 'PKEY', secret: 'PSECRET' } });
    const p = { host: '127.0.0.1', port: s.mqttPort };
    await expect(openDevice(platform(), { ...p, provisioning: { ...provision, provisionDeviceSecret: 'nope' } })).rejects.toMatchObject({ code: 'provision-not-found' });
    await expect(openDevice(platform(), { ...p, provisioning: { ...provision, deviceName: 'dev1' } })).rejects.toMatchObject({ code: 'provision-failed' });
  });

  it('no credentials and no provisioning keys is a configuration error', async () => {
    await expect(openDevice(platform(), { host: '127.0.0.1', port: 1 })).rejects.toMatchObject({ code: 'bad-config' });
  });
});
