/**
 * The whole firmware (src/app Firmware on the simulated board) on the real XS engine, against the
 * local ThingsBoard server over real TCP on 127.0.0.1: connect, telemetry, toggle_gpio round trip,
 * a shared attribute change applied and stored, a server restart with no QoS 1 telemetry lost.
 * Shared by xs-firmware.test.ts (the plain bundle) and xs-preload.test.ts (after a simulated
 * Moddable preload): call firmwareScenario() inside a describe block.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { xsnapWorkerPath } from '../../targets/xsnap/worker';
import { runXsDevice, type XsDevice } from '../../targets/xsnap/xs-device';
import { sleep, waitFor } from '../support/wait';

interface FirmwareStatus {
  connected: boolean;
  running: boolean;
  settings: { telemetryIntervalMs: number; telemetryEnabled: boolean };
  gpio: Record<string, boolean>;
  telemetry: { sent: number; acked: number; failed: number; ackedTs: number[] };
}

const TOPIC = 'v1/devices/me/telemetry';

export interface FirmwareScenarioOptions {
  /** Run the bundle minified like dist/esp32/tbxs.min.js (private `_` members mangled). */
  minify: boolean;
  /** Run it after a simulated Moddable preload (runXsDevice's `preload`). Default false. */
  preload?: boolean;
  /** Also check the timing of the new telemetry period (about 2 s more). Default true. */
  checkPeriod?: boolean;
  /** How long the server stays away in the restart test, ms. Default 1600 (two or three cycles). */
  offlineMs?: number;
  /** Registers more tests and hooks in the describe block, after the scenario's, before it closes. */
  more?(context: FirmwareScenarioContext): void;
}

export interface FirmwareScenarioContext {
  /** The running device; undefined before the first test and after the last. */
  device(): XsDevice | undefined;
  server(): TbServer;
  /** The firmware's log, `level message`. */
  readonly lines: readonly string[];
}

export function firmwareScenario(options: FirmwareScenarioOptions): void {
  const { minify, preload = false, checkPeriod = true, offlineMs = 1600 } = options;
  let server: TbServer;
  let device: XsDevice | undefined;
  let stateDir: string;
  const lines: string[] = [];
  /** Telemetry the server received: ts -> values. */
  const received = new Map<number, Record<string, unknown>>();

  beforeAll(async () => {
    xsnapWorkerPath(); // fails (never skips) without the binary: "run `npm rebuild @agoric/xsnap`"
    stateDir = mkdtempSync(join(tmpdir(), 'tbxs-xsfw-'));
    server = await startTbServer({ devices: [{ name: 'xsfw', token: 'XS_FW_TOKEN' }] });
    server.onEvent((e) => {
      if (e.type !== 'uplink' || e.device !== 'xsfw' || e.topic !== TOPIC) return;
      const body = JSON.parse(e.payload) as { ts: number; values: Record<string, unknown> };
      received.set(body.ts, body.values);
    });
  });

  afterAll(async () => {
    await device?.close();
    await server?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const status = async () => (await device!.status()).app as unknown as FirmwareStatus;

  it('connects, describes itself and sends sensor telemetry', async () => {
    const log = (level: string) => (m: string) => lines.push(level + ' ' + m);
    device = await runXsDevice({
      host: '127.0.0.1',
      port: server.mqttPort,
      credentials: { type: 'ACCESS_TOKEN', token: 'XS_FW_TOKEN' },
      session: { reconnect: { initialMs: 50, maxMs: 200 } },
      stateDir,
      name: 'xs-firmware-test',
      log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      app: 'firmware',
      appOptions: { settings: { telemetryIntervalMs: 500 } },
      minify,
      preload,
    });
    await waitFor(() => received.size >= 2, 'two telemetry messages at the server', 5000);
    const first = [...received.values()][0];
    for (const key of ['climate_temperature', 'climate_humidity', 'ambient_temperature', 'ambient_pressure', 'battery_v']) {
      expect(typeof first[key], key).toBe('number');
    }
    expect(first.climate_temperature as number).toBeGreaterThan(0);
    await waitFor(() => server.attributes('xsfw', 'client').led === false, 'the GPIO client attributes', 3000);
    expect(JSON.stringify(server.attributes('xsfw', 'client'))).toContain('xs-firmware-test');
    const s = await status();
    expect(s.connected).toBe(true);
    expect(s.running).toBe(true);
  });

  it('toggles a GPIO through a server-side RPC and reports it', async () => {
    expect(await server.sendRpc('xsfw', 'toggle_gpio', { pin: 'led' }, { timeoutMs: 3000 })).toEqual({ led: true });
    expect((await status()).gpio.led).toBe(true);
    await waitFor(() => server.attributes('xsfw', 'client').led === true, 'led = true as a client attribute', 3000);
    expect(await server.sendRpc('xsfw', 'toggle_gpio', 'led', { timeoutMs: 3000 })).toEqual({ led: false });
    const gpio = (await server.sendRpc('xsfw', 'getGpioStatus', {}, { timeoutMs: 3000 })) as Record<string, boolean>;
    expect(gpio['2']).toBe(false);
    expect(await server.sendRpc('xsfw', 'toggle_gpio', { pin: 'nope' }, { timeoutMs: 3000 })).toMatchObject({ error: expect.any(String) });
  });

  it('applies a shared attribute change (telemetryIntervalMs) and keeps it in the host state file', async () => {
    server.setSharedAttributes('xsfw', { telemetryIntervalMs: 700 });
    await waitFor(() => lines.some((l) => l.includes('telemetryIntervalMs')), 'the change in the log', 3000);
    await waitFor(() => JSON.stringify(server.attributes('xsfw', 'client').settings ?? {}).includes('700'), 'settings attribute', 3000);
    expect((await status()).settings.telemetryIntervalMs).toBe(700);
    const stored = readFileSync(join(stateDir, 'store.json'), 'utf8');
    expect(stored).toContain('700');
    if (!checkPeriod) return;
    // The new period is in effect: time stamps ~700 ms apart (mean of two gaps, so one late
    // cycle on a busy machine does not fail it; the loop keeps a fixed rate).
    const start = received.size;
    await waitFor(() => received.size >= start + 3, 'three more messages', 4000);
    const ts = [...received.keys()].slice(-3);
    const mean = (ts[2] - ts[0]) / 2;
    expect(mean).toBeGreaterThanOrEqual(600);
    expect(mean).toBeLessThan(850);
  });

  it('survives a server restart with no acknowledged or queued QoS 1 telemetry lost', async () => {
    await server.stopMqtt();
    await sleep(offlineMs); // telemetry cycles happen while the server is away
    const during = await status();
    expect(during.connected).toBe(false);
    // Some telemetry was taken while offline: queued in the session, not yet acknowledged.
    expect(during.telemetry.sent).toBeGreaterThan(during.telemetry.acked);
    await server.startMqtt();
    await waitFor(() => server.isConnected('xsfw'), 'reconnect', 5000);
    let after = await status();
    const deadline = Date.now() + 5000;
    while (after.telemetry.acked < during.telemetry.sent && Date.now() < deadline) {
      await sleep(100);
      after = await status();
    }
    expect(after.telemetry.failed).toBe(0);
    expect(after.telemetry.acked).toBeGreaterThanOrEqual(during.telemetry.sent);
    // Every message the firmware saw acknowledged is at the server, by its time stamp.
    const missing = after.telemetry.ackedTs.filter((ts) => !received.has(ts));
    expect(missing).toEqual([]);
    // And the server has nothing the firmware did not send.
    expect(received.size).toBeLessThanOrEqual(after.telemetry.sent);
    expect(received.size).toBeGreaterThanOrEqual(after.telemetry.acked);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  options.more?.({ device: () => device, server: () => server, lines });

  it('closes cleanly', async () => {
    await device!.close();
    expect(await device!.done).toBeUndefined();
    await waitFor(() => !server.isConnected('xsfw'), 'the session to end', 3000);
    device = undefined;
  });
}
