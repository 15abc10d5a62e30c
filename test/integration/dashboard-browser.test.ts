/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the local
 * server and a simulated device on loopback: the charts receive live points, a GPIO button
 * changes the device's pin, the shared attribute form changes the device's setting, the RPC box
 * shows the reply, and a firmware upload is watched to UPDATED. Fails, never skips, without
 * Chromium or playwright-core. Leaves a screenshot in test-artifacts/dashboard.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/platform/log';
import { startHostDevice, type RunningDevice } from '../../targets/host/cli/device-command';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { waitFor } from '../support/wait';

const ARTIFACTS = join(__dirname, '../../test-artifacts');
const NAME = 'dash-device';

/** CHROMIUM_PATH, Debian's /usr/bin/chromium, or a chromium on PATH; else a clear failure. */
function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // not on PATH
    }
  }
  throw new Error('no Chromium for the dashboard test: apt-get install chromium (as .ci/run does), or set CHROMIUM_PATH');
}

let server: TbServer;
let device: RunningDevice;
let browser: Browser;
let page: Page;
let dir: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tbxs-dashboard-'));
  server = await startTbServer({ devices: [{ name: NAME, token: 'DASH' }], rpcMinTimeoutMs: 0 });
  device = await startHostDevice(
    {
      config: { host: '127.0.0.1', port: server.mqttPort, credentials: { type: 'ACCESS_TOKEN', token: 'DASH' } },
      stateDir: join(dir, 'state'),
      engine: 'node',
      name: NAME,
      verbose: false,
      telemetryMs: 500,
      ota: { dir: join(dir, 'ota') },
    },
    silentLog,
  );
  browser = await chromium.launch({ executablePath: chromiumPath() });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  device?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const points = async (key: string): Promise<number> => Number(await page.getAttribute(`figure.chart[data-key="${key}"]`, 'data-points'));
const gpio = async () => (await server.sendRpc(NAME, 'getGpioStatus', {}, { timeoutMs: 3000 })) as Record<string, boolean>;

describe('the dashboard in Chromium', () => {
  it('shows the device, live charts, GPIO, shared attributes, RPC and an OTA update', async () => {
    await page.goto(server.httpUrl + '/');
    // The only device is chosen; it is online.
    await page.waitForSelector(`.device-view[data-device="${NAME}"]`);
    await page.waitForSelector(`a.device[data-device="${NAME}"][data-active="true"]`);

    // Charts: history first, then points arriving over the live stream.
    await page.waitForSelector('figure.chart[data-key="climate_temperature"]');
    await expect.poll(() => points('climate_temperature'), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    const before = await points('climate_temperature');
    await expect.poll(() => points('climate_temperature'), { timeout: 3000 }).toBeGreaterThan(before);
    for (const key of ['ambient_pressure', 'battery_v']) expect(await points(key)).toBeGreaterThan(0);

    // GPIO: the buttons come from getGpioStatus, named by the `pins` attribute; a click toggles the pin on the device.
    const led = page.locator('button.gpio[data-pin="led"]');
    await led.waitFor();
    expect(await led.getAttribute('data-state')).toBe('off');
    expect((await gpio())['2']).toBe(false);
    await led.click();
    await page.waitForSelector('button.gpio[data-pin="led"][data-state="on"]');
    expect((await gpio())['2']).toBe(true);
    // The button is an input: no button for it.
    expect(await page.locator('button.gpio[data-pin="button"]').count()).toBe(0);

    // Shared attribute: the form sets it, the server pushes it, the device applies the setting.
    expect(device.firmware.settings.telemetryIntervalMs).toBe(500);
    await page.fill('#shared-key', 'telemetryIntervalMs');
    await page.fill('#shared-value', '1000');
    await page.click('#shared-form button[type=submit]');
    await waitFor(() => device.firmware.settings.telemetryIntervalMs === 1000, 'the device to take telemetryIntervalMs 1000');
    await page.waitForSelector('#attributes tr[data-key="telemetryIntervalMs"]');
    // The device reports the setting back as a client attribute, over the live stream.
    await page.locator('#attributes tr[data-key="settings"]', { hasText: '"telemetryIntervalMs":1000' }).waitFor();

    // The RPC box: the device's reply, and the error for a method it does not know.
    await page.fill('#rpc-method', 'getGpioStatus');
    await page.fill('#rpc-params', '{}');
    await page.click('#rpc button[type=submit]');
    await page.locator('#rpc-output', { hasText: '"2": true' }).waitFor();
    await page.fill('#rpc-method', 'noSuchMethod');
    await page.click('#rpc button[type=submit]');
    await page.waitForSelector('#rpc-output.error');

    // OTA: upload a file through the page, watch fw_state until the device runs the new version.
    await page.fill('#ota-title', 'tbxs');
    await page.fill('#ota-version', '0.2.0');
    await page.setInputFiles('#ota-file', { name: 'tbxs-0.2.0.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(10_000, 7) });
    await page.click('#ota button[type=submit]');
    await page.waitForSelector('#ota dd[data-key="fw_state"]:text("UPDATED")', { timeout: 10_000 });
    await page.waitForSelector('#ota dd[data-key="current_fw_version"]:text("0.2.0")');
    expect(device.restarts).toBe(1);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
