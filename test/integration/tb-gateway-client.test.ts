// GatewayClient against the local ThingsBoard-compatible server over TCP on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttSession } from '../../src/mqtt/session';
import { GatewayClient, type GatewayClientOptions } from '../../src/thingsboard/gateway-client';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { startTbServer, type TbEvent, type TbServer } from '../../targets/host/tb-server/index';
import { waitFor } from '../support/wait';

let server: TbServer;
const events: TbEvent[] = [];
const closers: (() => void)[] = [];

function openGateway(token: string, options: Partial<GatewayClientOptions> = {}) {
  const session = new MqttSession({
    connector: new NodeConnector(),
    clock: nodeClock,
    host: '127.0.0.1',
    port: server.mqttPort,
    clientId: 'gw-' + token,
    username: token,
    reconnect: { initialMs: 50, maxMs: 200, jitter: 0 },
  });
  const gateway = new GatewayClient({ session, clock: nodeClock, requestTimeoutMs: 3000, ...options });
  closers.push(() => {
    gateway.close();
    session.close();
  });
  session.start();
  return { session, gateway };
}

let gw: ReturnType<typeof openGateway>;

beforeAll(async () => {
  server = await startTbServer({
    gateways: [
      { name: 'gw', token: 'GW' },
      { name: 'gw100', token: 'GW100' },
    ],
    rpcMinTimeoutMs: 0,
  });
  server.onEvent((e) => void events.push(e));
  gw = openGateway('GW');
  await waitFor(() => gw.gateway.connected, 'gateway connected');
});

afterAll(async () => {
  closers.splice(0).forEach((c) => c());
  await server.close();
});

const uplinks = (topic: string, device = 'gw') => events.filter((e) => e.type === 'uplink' && e.device === device && e.topic === topic).length;

describe('GatewayClient on the local server', () => {
  it('connects children, with the device type on creation', async () => {
    const { gateway } = gw;
    gateway.connectDevice('thermo-1', 'thermometer');
    gateway.connectDevice('plain-1');
    await waitFor(() => server.isConnected('thermo-1') && server.isConnected('plain-1'), 'children attached');
    expect(server.getDevice('thermo-1')?.type).toBe('thermometer');
    expect(server.getDevice('plain-1')?.type).toBe('default');
    expect(server.sessions().find((s) => s.device === 'gw')?.children).toEqual(expect.arrayContaining(['thermo-1', 'plain-1']));
  });

  it('telemetry for many children in one message reaches each child', async () => {
    const { gateway } = gw;
    for (const n of ['m1', 'm2', 'm3']) gateway.connectDevice(n);
    const before = uplinks('v1/gateway/telemetry');
    await gateway.sendTelemetry({
      m1: { temperature: 21.5 },
      m2: [{ ts: 1_700_000_000_000, values: { temperature: 19 } }, { ts: 1_700_000_001_000, values: { temperature: 20 } }],
      m3: [{ humidity: 40 }],
    });
    expect(uplinks('v1/gateway/telemetry') - before).toBe(1);
    expect(server.latestTelemetry('m1').temperature.value).toBe(21.5);
    expect(server.latestTelemetry('m2').temperature).toEqual({ ts: 1_700_000_001_000, value: 20 });
    expect(server.telemetryHistory('m2', 'temperature').map((e) => e.value)).toEqual([19, 20]);
    expect(server.latestTelemetry('m3').humidity.value).toBe(40);
    // Each child's own send, batched within the tick.
    const before2 = uplinks('v1/gateway/telemetry');
    await Promise.all(['m1', 'm2', 'm3'].map((n, i) => gateway.child(n)!.sendTelemetry({ seq: i })));
    expect(uplinks('v1/gateway/telemetry') - before2).toBe(1);
    expect(['m1', 'm2', 'm3'].map((n) => server.latestTelemetry(n).seq.value)).toEqual([0, 1, 2]);
  });

  it('client attributes for several children and for one', async () => {
    const { gateway } = gw;
    const a = gateway.connectDevice('at1');
    gateway.connectDevice('at2');
    await gateway.sendAttributes({ at1: { fw: 'v1.0' }, at2: { fw: 'v2.0', model: 'x' } });
    await a.sendAttributes({ serial: 'S1' });
    expect(server.attributes('at1', 'client')).toEqual({ fw: 'v1.0', serial: 'S1' });
    expect(server.attributes('at2', 'client')).toEqual({ fw: 'v2.0', model: 'x' });
  });

  it('attribute requests: one key, several keys, both scopes, one of several missing', async () => {
    const { gateway } = gw;
    const c = gateway.connectDevice('req-1');
    await c.sendAttributes({ fw: 'v1.2', serial: 'A7' });
    server.setSharedAttributes('req-1', { interval: 5000, mode: 'eco' });
    await expect(c.requestAttributes({ sharedKeys: ['interval'] })).resolves.toEqual({ client: {}, shared: { interval: 5000 } });
    await expect(c.requestAttributes({ clientKeys: ['fw', 'serial'], sharedKeys: ['interval', 'mode'] })).resolves.toEqual({
      client: { fw: 'v1.2', serial: 'A7' },
      shared: { interval: 5000, mode: 'eco' },
    });
    await expect(c.requestAttributes({ sharedKeys: ['mode', 'missing'] })).resolves.toEqual({ client: {}, shared: { mode: 'eco' } });
    await expect(c.requestAttributes({ clientKeys: ['missing'] })).resolves.toEqual({ client: {}, shared: {} });
  });

  it('shared attribute updates and deletions reach the right child', async () => {
    const { gateway } = gw;
    const a = gateway.connectDevice('sh-a');
    const b = gateway.connectDevice('sh-b');
    await waitFor(() => server.isConnected('sh-a') && server.isConnected('sh-b'), 'children attached');
    const seen: string[] = [];
    a.onSharedAttributes((u) => seen.push('a ' + JSON.stringify(u)));
    b.onSharedAttributes((u) => seen.push('b ' + JSON.stringify(u)));
    server.setSharedAttributes('sh-b', { interval: 2000 });
    server.setSharedAttributes('sh-a', { led: true, old: 1 });
    server.deleteSharedAttributes('sh-a', ['old']);
    await waitFor(() => seen.length === 3, 'three updates');
    expect(seen).toEqual([
      'b {"values":{"interval":2000},"deleted":[]}',
      'a {"values":{"led":true,"old":1},"deleted":[]}',
      'a {"values":{},"deleted":["old"]}',
    ]);
  });

  it('RPC to two children at once: both answered by their own handlers', async () => {
    const { gateway } = gw;
    const a = gateway.connectDevice('rpc-a');
    const b = gateway.connectDevice('rpc-b');
    await waitFor(() => server.isConnected('rpc-a') && server.isConnected('rpc-b'), 'children attached');
    a.onRpc('read', async (params) => {
      await new Promise((r) => setTimeout(r, 50));
      return { who: 'a', params };
    });
    b.onRpc('read', (params) => ({ who: 'b', params }));
    const [ra, rb] = await Promise.all([
      server.sendRpc('rpc-a', 'read', { n: 1 }, { timeoutMs: 2000 }),
      server.sendRpc('rpc-b', 'read', { n: 2 }, { timeoutMs: 2000 }),
    ]);
    expect(ra).toEqual({ who: 'a', params: { n: 1 } });
    expect(rb).toEqual({ who: 'b', params: { n: 2 } });
  });

  it('unknown method and unknown child get error replies', async () => {
    const { gateway, session } = gw;
    gateway.connectDevice('rpc-c');
    await waitFor(() => server.isConnected('rpc-c'), 'child attached');
    await expect(server.sendRpc('rpc-c', 'nope', {}, { timeoutMs: 2000 })).resolves.toEqual({ error: 'unknown method: nope' });
    // A child the server attached to this gateway behind the GatewayClient's back.
    await session.publishAsync('v1/gateway/connect', JSON.stringify({ device: 'ghost' }), { qos: 1 });
    await expect(server.sendRpc('ghost', 'read', {}, { timeoutMs: 2000 })).resolves.toEqual({ error: 'unknown device: ghost' });
  });

  it('rename and delete notices update the registry; the renamed child keeps its handlers', async () => {
    const { gateway } = gw;
    const r = gateway.connectDevice('old-name');
    const d = gateway.connectDevice('doomed');
    r.onRpc('ping', () => 'pong from ' + r.name);
    await waitFor(() => server.isConnected('old-name') && server.isConnected('doomed'), 'children attached');
    await expect(server.sendRpc('gw', 'gateway_device_renamed', { 'old-name': 'new-name' }, { timeoutMs: 2000 })).resolves.toEqual({});
    expect(gateway.child('new-name')).toBe(r);
    expect(gateway.child('old-name')).toBeUndefined();
    await waitFor(() => server.isConnected('new-name'), 'renamed child announced');
    await expect(server.sendRpc('new-name', 'ping', {}, { timeoutMs: 2000 })).resolves.toBe('pong from new-name');
    await expect(server.sendRpc('gw', 'gateway_device_deleted', 'doomed', { timeoutMs: 2000 })).resolves.toEqual({});
    expect(gateway.child('doomed')).toBeUndefined();
    expect(d.connected).toBe(false);
  });

  it('after the server restarts, children are announced again and RPC works', async () => {
    const { gateway } = gw;
    const c = gateway.connectDevice('survivor', 'relay');
    c.onRpc('state', () => ({ on: true }));
    await waitFor(() => server.isConnected('survivor'), 'child attached');
    await server.stopMqtt();
    await waitFor(() => !gateway.connected, 'gateway sees the drop');
    expect(server.isConnected('survivor')).toBe(false);
    await server.startMqtt();
    await waitFor(() => gateway.connected, 'gateway reconnected');
    const names = gateway.childNames();
    await waitFor(() => names.every((n) => server.isConnected(n)), 'every child announced again', 3000);
    await expect(server.sendRpc('survivor', 'state', {}, { timeoutMs: 2000 })).resolves.toEqual({ on: true });
    await c.sendTelemetry({ after: 1 });
    expect(server.latestTelemetry('survivor').after.value).toBe(1);
  });

  it('100 children publishing together: every one has its telemetry on the server', async () => {
    const { gateway } = openGateway('GW100');
    await waitFor(() => gateway.connected, 'second gateway connected');
    const kids = Array.from({ length: 100 }, (_, i) => gateway.connectDevice('hundred-' + String(i).padStart(3, '0'), 'sensor'));
    const before = uplinks('v1/gateway/telemetry', 'gw100');
    await Promise.all(kids.map((k, i) => k.sendTelemetry({ temperature: 20 + i / 10, seq: i })));
    for (let i = 0; i < 100; i++) expect(server.latestTelemetry(kids[i].name).seq.value).toBe(i);
    expect(server.getDevice('hundred-042')?.type).toBe('sensor');
    // Batched: a handful of gateway messages, not 100.
    expect(uplinks('v1/gateway/telemetry', 'gw100') - before).toBeLessThan(10);
    expect(kids.every((k) => server.isConnected(k.name))).toBe(true);
  });
});
