/**
 * Firmware OTA end to end on loopback: a firmware file is uploaded to the local server through
 * ThingsBoard's REST (otaPackage, multipart upload, device assignment), the simulated device
 * (`tbxs device --ota-dir`, Node engine, in-process) takes it chunk by chunk, installs it,
 * restarts into it and reports UPDATED; the installed file's SHA256 equals the uploaded one's.
 * Also through a fault proxy that cuts the connection several times mid-download, and the
 * server's answers to bad chunk requests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startHostDevice, type RunningDevice } from '../../targets/host/cli/device-command';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { closed, httpJson } from '../support/tb-server-helpers';
import { sleep, waitFor } from '../support/wait';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BIN = join(__dirname, '../../bin/tbxs.mjs');

function killGroup(c: ChildProcess): void {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tbxs-ota-it-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function server(): Promise<TbServer> {
  const s = await startTbServer({ devices: [{ name: 'ota-dev', token: 'ota-token' }] });
  cleanups.push(() => s.close());
  return s;
}

async function device(port: number, otaDir: string, chunkBytes = 4096): Promise<RunningDevice> {
  const d = await startHostDevice(
    {
      config: { host: '127.0.0.1', port, credentials: { type: 'ACCESS_TOKEN', token: 'ota-token' }, session: { reconnect: { initialMs: 100, maxMs: 300 } } },
      stateDir: join(otaDir, 'state'),
      engine: 'node',
      name: 'ota-dev',
      verbose: false,
      ota: { dir: otaDir, chunkBytes },
    },
    quiet,
  );
  cleanups.push(() => d.close());
  return d;
}

function fwStates(s: TbServer): string[] {
  return s.telemetryHistory('ota-dev', 'fw_state').map((e) => String(e.value));
}

const DEVICE_STATES = ['DOWNLOADING', 'DOWNLOADED', 'VERIFIED', 'UPDATING', 'UPDATED'];

/**
 * The server's INITIATED, then the device's states in order. The server keeps one value per key
 * and ts (as ThingsBoard's store), and on loopback the device can answer the assignment within the
 * millisecond the server stamped INITIATED with: then DOWNLOADING replaced it, as it would on
 * ThingsBoard. The device's own five are always there.
 */
function expectStateHistory(states: string[]): void {
  expect(states[0] === 'INITIATED' ? states.slice(1) : states).toEqual(DEVICE_STATES);
}

/** Uploads `data` through ThingsBoard's REST and assigns it to the device; returns the package JSON. */
async function uploadAndAssign(s: TbServer, title: string, version: string, data: Uint8Array, checksum?: string): Promise<any> {
  const base = s.httpUrl;
  const id = s.getDevice('ota-dev')!.id;
  const dev = await httpJson(base, 'GET', '/api/device/' + id);
  expect(dev.status).toBe(200);
  expect(dev.json.deviceProfileId.entityType).toBe('DEVICE_PROFILE');
  const created = await httpJson(base, 'POST', '/api/otaPackage', { title, version, type: 'FIRMWARE', deviceProfileId: dev.json.deviceProfileId });
  expect(created.status).toBe(200);
  expect(created.json).toMatchObject({ title, version, type: 'FIRMWARE', hasData: false });
  const form = new FormData();
  form.append('file', new Blob([data]), 'firmware.bin');
  const query = '?checksumAlgorithm=SHA256' + (checksum ? '&checksum=' + checksum : '');
  const up = await fetch(base + '/api/otaPackage/' + created.json.id.id + query, { method: 'POST', body: form });
  const pkg: any = await up.json();
  expect(up.status).toBe(200);
  expect(pkg).toMatchObject({ hasData: true, dataSize: data.length, checksumAlgorithm: 'SHA256', checksum: checksum ?? createHash('sha256').update(data).digest('hex'), fileName: 'firmware.bin' });
  const list = await httpJson(base, 'GET', '/api/otaPackages?pageSize=10&page=0');
  expect(list.json.data.map((p: any) => p.id.id)).toContain(pkg.id.id);
  const assigned = await httpJson(base, 'POST', '/api/device', { ...dev.json, firmwareId: pkg.id });
  expect(assigned.status).toBe(200);
  expect(assigned.json.firmwareId).toEqual(pkg.id);
  return pkg;
}

describe('OTA over MQTT, Node engine', () => {
  it('takes a 300 KB image uploaded through the REST API and reports UPDATED after the restart', async () => {
    const s = await server();
    const dir = tempDir();
    const d = await device(s.mqttPort, dir);
    await waitFor(() => s.latestTelemetry('ota-dev').current_fw_version !== undefined, 'current version report');
    const before = s.latestTelemetry('ota-dev').current_fw_version!.value;
    const image = randomBytes(300 * 1024);
    await uploadAndAssign(s, 'tbxs', '9.9.9', image);
    expect(s.attributes('ota-dev', 'shared')).toMatchObject({ fw_title: 'tbxs', fw_version: '9.9.9', fw_size: image.length, fw_checksum_algorithm: 'SHA256' });
    await waitFor(() => fwStates(s).includes('UPDATED'), 'fw_state UPDATED', 30_000);
    expect(d.restarts).toBe(1);
    expectStateHistory(fwStates(s));
    expect(createHash('sha256').update(readFileSync(join(dir, 'firmware.bin'))).digest('hex')).toBe(createHash('sha256').update(image).digest('hex'));
    expect(JSON.parse(readFileSync(join(dir, 'firmware.json'), 'utf8'))).toMatchObject({ title: 'tbxs', version: '9.9.9' });
    expect(s.latestTelemetry('ota-dev').current_fw_version!.value).toBe('9.9.9');
    expect(before).not.toBe('9.9.9');
    // The history REST query shows the states too.
    const id = s.getDevice('ota-dev')!.id;
    const h = await httpJson(s.httpUrl, 'GET', `/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=fw_state&startTs=0&endTs=${Date.now() + 1000}&orderBy=ASC`);
    const history = h.json.fw_state.map((e: any) => e.value);
    expect(history).toEqual(fwStates(s));
    expectStateHistory(history);
    // The device keeps working on the new version: an RPC is answered.
    expect(await s.sendRpc('ota-dev', 'getGpioStatus', {}, { timeoutMs: 5000 })).toMatchObject({ '2': expect.any(Boolean) });
    // After the restart the announcement names the running version: nothing more is fetched.
    await sleep(300);
    expect(fwStates(s).at(-1)).toBe('UPDATED');
  });

  it('ends UPDATED with the right bytes when the connection is cut several times mid-download', async () => {
    const s = await server();
    const proxy: FaultProxy = await startFaultProxy({ targetPort: s.mqttPort, seed: 7 });
    cleanups.push(() => proxy.close());
    const dir = tempDir();
    await device(proxy.port, dir, 1024);
    await waitFor(() => s.isConnected('ota-dev'), 'device connected');
    const image = randomBytes(200 * 1024);
    // The connection is cut as the server sees the request for chunk 30, 70, 110 and 150 of 200:
    // tied to the download itself, not to polls a loaded machine may run late (by then a fast
    // download had finished and there was nothing left to cut).
    const cutAt = [30, 70, 110, 150];
    let cuts = 0;
    let chunkRequests = 0;
    s.onEvent((e) => {
      if (e.type !== 'uplink' || !e.topic.startsWith('v2/fw/request/')) return;
      chunkRequests++;
      if (cuts < cutAt.length && Number(e.topic.slice(e.topic.lastIndexOf('/') + 1)) >= cutAt[cuts]!) {
        cuts++;
        proxy.closeAll();
      }
    });
    s.assignFirmware('ota-dev', { title: 'tbxs', version: '2.0.0', data: image });
    await waitFor(() => fwStates(s).includes('UPDATED'), 'fw_state UPDATED', 30_000);
    expect(createHash('sha256').update(readFileSync(join(dir, 'firmware.bin'))).digest('hex')).toBe(createHash('sha256').update(image).digest('hex'));
    expect(fwStates(s).filter((x) => x === 'DOWNLOADING')).toHaveLength(1);
    expect(fwStates(s)).not.toContain('FAILED');
    // Resumed, not restarted from zero: 200 chunks and a few asked again after each cut (from
    // zero would be 200 + 30 + 70 + 110 + 150).
    expect(cuts).toBe(4);
    expect(proxy.counters.accepted).toBeGreaterThanOrEqual(5);
    expect(chunkRequests).toBeGreaterThanOrEqual(200);
    expect(chunkRequests).toBeLessThan(230);
  });

  it('reports FAILED with the reason for a wrong checksum and keeps the old firmware', async () => {
    const s = await server();
    const dir = tempDir();
    const d = await device(s.mqttPort, dir);
    await waitFor(() => s.isConnected('ota-dev'), 'device connected');
    const image = randomBytes(10_000);
    await uploadAndAssign(s, 'tbxs', '3.0.0', image, '00'.repeat(32));
    await waitFor(() => fwStates(s).includes('FAILED'), 'fw_state FAILED', 10_000);
    expect(String(s.latestTelemetry('ota-dev').fw_error?.value)).toMatch(/checksum mismatch: SHA256 of the 10000 bytes received is [0-9a-f]{64}, the server announced 0{64}/);
    expect(d.restarts).toBe(0);
    expect(() => readFileSync(join(dir, 'firmware.bin'))).toThrow();
  });
});

describe('OTA over MQTT, XS engine (tbxs device --engine xs --ota-dir)', () => {
  it('takes a 300 KB image through the bridge, restarts the worker into it and reports UPDATED', async () => {
    const s = await server();
    const dir = tempDir();
    let out = '';
    const child = spawn(process.execPath, [BIN, 'device', '--engine', 'xs', '--host', '127.0.0.1', '--port', String(s.mqttPort), '--token', 'ota-token', '--state-dir', join(dir, 'state'), '--ota-dir', dir, '--ota-chunk-bytes', '2048'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    cleanups.push(() => killGroup(child));
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor(() => s.latestTelemetry('ota-dev').current_fw_version !== undefined, 'current version report', 30_000);
      const image = randomBytes(300 * 1024);
      await uploadAndAssign(s, 'tbxs-xs', '4.5.6', image);
      await waitFor(() => fwStates(s).includes('UPDATED') || fwStates(s).includes('FAILED'), 'fw_state UPDATED', 60_000);
      expectStateHistory(fwStates(s));
      expect(createHash('sha256').update(readFileSync(join(dir, 'firmware.bin'))).digest('hex')).toBe(createHash('sha256').update(image).digest('hex'));
      expect(s.latestTelemetry('ota-dev').current_fw_title!.value).toBe('tbxs-xs');
      expect(s.latestTelemetry('ota-dev').current_fw_version!.value).toBe('4.5.6');
      expect(out).toMatch(/restarting into the installed firmware/);
      // The new worker answers RPCs.
      expect(await s.sendRpc('ota-dev', 'getGpioStatus', {}, { timeoutMs: 10_000 })).toMatchObject({ '2': expect.any(Boolean) });
    } catch (error) {
      throw new Error((error as Error).message + '\n--- device output ---\n' + out.slice(-4000));
    }
  }, 120_000);
});

describe('local server: chunk requests', () => {
  it('answers chunks, an empty payload past the end, and v2/fw/error for bad requests', async () => {
    const s = await server();
    const image = randomBytes(2500);
    const c = mqtt.connect(s.mqttUrl, { username: 'ota-token', reconnectPeriod: 0, protocolVersion: 4 });
    cleanups.push(() => c.end(true));
    await new Promise<void>((resolve) => c.once('connect', () => resolve()));
    const got: { topic: string; payload: Buffer }[] = [];
    c.on('message', (topic, payload) => got.push({ topic, payload }));
    await c.subscribeAsync(['v2/fw/response/+/chunk/+', 'v2/fw/error'], { qos: 1 });
    // No firmware assigned yet.
    await c.publishAsync('v2/fw/request/1/chunk/0', '1024', { qos: 1 });
    await waitFor(() => got.length === 1, 'error answer');
    expect(got[0]).toMatchObject({ topic: 'v2/fw/error' });
    expect(got[0]!.payload.toString()).toBe('No firmware assigned to the device');
    s.assignFirmware('ota-dev', { title: 'x', version: '1', data: image });
    for (const n of [0, 1, 2, 3]) await c.publishAsync(`v2/fw/request/5/chunk/${n}`, '1024', { qos: 1 });
    await waitFor(() => got.length === 5, 'four chunk answers');
    expect(got.slice(1).map((m) => [m.topic, m.payload.length])).toEqual([
      ['v2/fw/response/5/chunk/0', 1024],
      ['v2/fw/response/5/chunk/1', 1024],
      ['v2/fw/response/5/chunk/2', 452],
      ['v2/fw/response/5/chunk/3', 0],
    ]);
    expect(Buffer.concat(got.slice(1).map((m) => m.payload))).toEqual(image);
    // An empty payload reuses the request id's size.
    await c.publishAsync('v2/fw/request/5/chunk/1', '', { qos: 1 });
    await c.publishAsync('v2/fw/request/6/chunk/0', 'lots', { qos: 1 });
    await waitFor(() => got.length === 7, 'two more answers');
    expect(got[5]!.payload).toEqual(image.subarray(1024, 2048));
    expect(got[6]).toMatchObject({ topic: 'v2/fw/error' });
    expect(got[6]!.payload.toString()).toMatch(/Invalid chunk size/);
    // A chunk no packet can carry: error, then the session is closed.
    await c.publishAsync('v2/fw/request/7/chunk/0', '70000', { qos: 1 });
    await closed(c, 3000);
    expect(got.at(-1)!.payload.toString()).toMatch(/Chunk size 70000 is over the maximum payload size 65536/);
  });

  it('refuses what ThingsBoard refuses in the OTA REST', async () => {
    const s = await server();
    const base = s.httpUrl;
    const id = s.getDevice('ota-dev')!.id;
    const dev = (await httpJson(base, 'GET', '/api/device/' + id)).json;
    expect((await httpJson(base, 'POST', '/api/otaPackage', { version: '1', deviceProfileId: dev.deviceProfileId })).status).toBe(400);
    expect((await httpJson(base, 'POST', '/api/otaPackage', { title: 't', version: '1' })).status).toBe(400);
    const pkg = (await httpJson(base, 'POST', '/api/otaPackage', { title: 't', version: '1', type: 'FIRMWARE', deviceProfileId: dev.deviceProfileId })).json;
    expect((await httpJson(base, 'POST', '/api/otaPackage', { title: 't', version: '1', type: 'FIRMWARE', deviceProfileId: dev.deviceProfileId })).status).toBe(400);
    // Not assignable before it has data.
    const early = await httpJson(base, 'POST', '/api/device', { ...dev, firmwareId: pkg.id });
    expect(early.status).toBe(400);
    expect(early.json.message).toMatch(/empty data/);
    const noAlg = await fetch(base + '/api/otaPackage/' + pkg.id.id, { method: 'POST', body: new FormData() });
    expect(noAlg.status).toBe(400);
    const unknown = await httpJson(base, 'GET', '/api/otaPackage/00000000-0000-0000-0000-000000000000');
    expect(unknown.status).toBe(404);
    expect((await httpJson(base, 'GET', '/api/otaPackages')).status).toBe(400); // pageSize is required
    // Assigned on the profile: the device gets the attributes; unassigned: they are deleted.
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('abc')]), 'f.bin');
    await fetch(base + '/api/otaPackage/' + pkg.id.id + '?checksumAlgorithm=CRC32', { method: 'POST', body: form });
    const profile = (await httpJson(base, 'GET', '/api/deviceProfile/' + dev.deviceProfileId.id)).json;
    expect(profile.name).toBe('default');
    expect((await httpJson(base, 'POST', '/api/deviceProfile', { ...profile, firmwareId: pkg.id })).status).toBe(200);
    expect(s.attributes('ota-dev', 'shared')).toMatchObject({ fw_title: 't', fw_version: '1', fw_size: 3, fw_checksum_algorithm: 'CRC32', fw_checksum: 'c2412435' });
    expect((await httpJson(base, 'DELETE', '/api/otaPackage/' + pkg.id.id)).status).toBe(400);
    await httpJson(base, 'POST', '/api/deviceProfile', { ...profile, firmwareId: null });
    expect(Object.keys(s.attributes('ota-dev', 'shared')).filter((k) => k.startsWith('fw_'))).toEqual([]);
  });
});
