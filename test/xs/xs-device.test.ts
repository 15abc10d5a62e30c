/**
 * The firmware on the real XS engine (xsnap-worker) against the local ThingsBoard server over real
 * TCP on 127.0.0.1: runXsDevice with the probe app (DeviceClient only): connect, telemetry,
 * an RPC round trip, a shared attribute change, and a server restart with no QoS 1 loss.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { xsnapWorkerPath } from '../../targets/xsnap/worker';
import { runXsDevice, type XsDevice } from '../../targets/xsnap/xs-device';
import { waitFor, sleep } from '../support/wait';

interface ProbeStatus {
  connected: boolean;
  sent: number;
  acked: number;
  failed: number;
  lastAcked: number;
  intervalMs: number;
  pin: boolean;
}

describe('probe firmware on XS (xsnap) against the local server', () => {
  let server: TbServer;
  let device: XsDevice | undefined;
  let stateDir: string;
  const lines: string[] = [];
  /** Telemetry seq numbers the server received, in order. */
  const received: number[] = [];

  beforeAll(async () => {
    // Fails (never skips) without the binary; the message says `npm rebuild @agoric/xsnap`.
    xsnapWorkerPath();
    stateDir = mkdtempSync(join(tmpdir(), 'tbxs-xs-'));
    server = await startTbServer({ devices: [{ name: 'xs1', token: 'XS_TOKEN_1' }] });
    server.onEvent((e) => {
      if (e.type === 'uplink' && e.topic === 'v1/devices/me/telemetry') received.push((JSON.parse(e.payload) as { seq: number }).seq);
    });
  });

  afterAll(async () => {
    await device?.close();
    await server?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const status = async () => (await device!.status()).app as unknown as ProbeStatus;

  it('connects and sends telemetry', async () => {
    const log = (level: string) => (m: string) => lines.push(level + ' ' + m);
    device = await runXsDevice({
      host: '127.0.0.1',
      port: server.mqttPort,
      credentials: { type: 'ACCESS_TOKEN', token: 'XS_TOKEN_1' },
      session: { reconnect: { initialMs: 50, maxMs: 200 }, keepaliveSeconds: 30 },
      stateDir,
      log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      app: 'probe',
      appOptions: { telemetryIntervalMs: 100 },
    });
    await waitFor(() => received.length >= 3, 'three telemetry messages at the server', 5000);
    expect(server.isConnected('xs1')).toBe(true);
    expect(server.latestTelemetry('xs1').seq).toBeDefined();
    expect(lines.some((l) => l.includes('mqtt: connected to 127.0.0.1'))).toBe(true);
    expect((await status()).connected).toBe(true);
  });

  it('answers a server-side RPC', async () => {
    const reply = await server.sendRpc('xs1', 'toggle_gpio', { pin: 'led' }, { timeoutMs: 3000 });
    expect(reply).toEqual({ pin: 'led', value: true });
    expect(await server.sendRpc('xs1', 'echo', { a: [1, 'é'] }, { timeoutMs: 3000 })).toEqual({ a: [1, 'é'] });
    expect(await server.sendRpc('xs1', 'nope', {}, { timeoutMs: 3000 })).toMatchObject({ error: expect.stringContaining('nope') });
  });

  it('applies a shared attribute change', async () => {
    server.setSharedAttributes('xs1', { telemetryIntervalMs: 40 });
    await waitFor(() => lines.some((l) => l.includes('telemetryIntervalMs = 40')), 'the new interval in the log', 3000);
    expect((await status()).intervalMs).toBe(40);
    const before = received.length;
    await sleep(400);
    expect(received.length - before).toBeGreaterThanOrEqual(5); // ~10 at 40 ms
  });

  it('reconnects after a server restart without losing acknowledged or queued QoS 1 telemetry', async () => {
    await server.stopMqtt();
    await sleep(400); // ~10 cycles queue up in the firmware while the server is down
    const during = await status();
    expect(during.connected).toBe(false);
    await server.startMqtt();
    await waitFor(() => server.isConnected('xs1'), 'reconnect', 5000);
    const target = during.sent;
    await waitFor(() => received.includes(target), 'telemetry queued while offline to arrive', 5000);
    await sleep(200);
    const after = await status();
    expect(after.failed).toBe(0);
    const got = new Set(received);
    // Every message the firmware saw acknowledged reached the server, and nothing sent was lost:
    // seq 1..acked all arrived (QoS 1 may duplicate after a reconnect, never drop).
    for (let seq = 1; seq <= after.lastAcked; seq++) expect(got.has(seq), 'seq ' + seq).toBe(true);
    expect(after.acked).toBeGreaterThanOrEqual(target);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('closes cleanly: DISCONNECT, socket and worker gone', async () => {
    await device!.close();
    expect(await device!.done).toBeUndefined();
    await waitFor(() => !server.isConnected('xs1'), 'the session to end', 3000);
    device = undefined;
  });
});

describe('provisioning on XS: credentials kept in the host state file across a worker restart', () => {
  let server: TbServer;
  let stateDir: string;

  beforeAll(async () => {
    xsnapWorkerPath();
    stateDir = mkdtempSync(join(tmpdir(), 'tbxs-xs-prov-'));
    server = await startTbServer({ provision: { key: 'PKEY', secret: 'PSECRET' }, provisionCloseMs: 100 });
  });

  afterAll(async () => {
    await server?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('provisions once, then starts from the stored credentials', async () => {
    const config = {
      host: '127.0.0.1',
      port: server.mqttPort,
      provisioning: { provisionDeviceKey: 'PKEY', provisionDeviceSecret: 'PSECRET', deviceName: 'xs-prov' },
      session: { reconnect: { initialMs: 50, maxMs: 200 } },
    };
    const first = await runXsDevice({ ...config, stateDir, app: 'probe', appOptions: { telemetryIntervalMs: 100 } });
    await waitFor(() => server.isConnected('xs-prov'), 'the provisioned device to connect', 5000);
    expect(((await first.status()).app as unknown as { source: string }).source).toBe('provisioned');
    await first.close();
    const stored = JSON.parse(readFileSync(join(stateDir, 'store.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(stored)).toContain('ACCESS_TOKEN');

    const second = await runXsDevice({ ...config, stateDir, app: 'probe', appOptions: { telemetryIntervalMs: 100 } });
    try {
      await waitFor(() => server.isConnected('xs-prov'), 'the device to reconnect with stored credentials', 5000);
      expect(((await second.status()).app as unknown as { source: string }).source).toBe('store');
    } finally {
      await second.close();
    }
  });
});
