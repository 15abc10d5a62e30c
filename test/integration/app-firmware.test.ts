import { afterEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/platform/log';
import { MemoryStore } from '../../src/platform/store';
import { openDevice } from '../../src/thingsboard/device-connection';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { createSimulatedFirmware } from '../../targets/host/simulated-board';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { waitFor } from '../support/wait';

/**
 * The whole firmware loop on the simulated board against the local ThingsBoard-compatible server
 * over TCP (issue 5): cadence, interval change by shared attribute, the GPIO RPCs, a failing sensor,
 * an unknown pin.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(intervalMs: number) {
  const server = await startTbServer({ mqttPort: 0, httpPort: 0, rpcMinTimeoutMs: 0, devices: [{ name: 'board', token: 'BOARD' }] });
  cleanups.push(() => server.close());
  const store = new MemoryStore();
  const platform = { clock: nodeClock, connector: new NodeConnector(), store, log: silentLog };
  const conn = await openDevice(platform, { host: '127.0.0.1', port: server.mqttPort, credentials: { type: 'ACCESS_TOKEN', token: 'BOARD' } });
  const sim = createSimulatedFirmware({
    device: conn.client,
    clock: nodeClock,
    store,
    log: silentLog,
    name: 'tbxs',
    settings: { telemetryIntervalMs: intervalMs },
    onConnect: (listener) => conn.session.events.on('connect', listener),
  });
  sim.firmware.start();
  cleanups.push(() => conn.close());
  cleanups.push(() => sim.close());
  await waitFor(() => server.sessions().some((s) => 'v1/devices/me/rpc/request/+' in s.subscriptions), 'device subscribed');
  return { server, sim, store, conn };
}

const stamps = (server: TbServer) => server.telemetryHistory('board', 'climate_temperature').map((e) => e.ts);

describe('firmware loop against the local server', () => {
  it('publishes sensor telemetry at the configured cadence, with device time stamps', async () => {
    const { server } = await setup(500);
    await waitFor(() => stamps(server).length >= 4, 'four readings', 5000);
    const ts = stamps(server);
    const gaps = ts.slice(1).map((t, i) => t - ts[i]);
    // The device's own time stamps, on real timers: each gap is the interval give or take timer lateness.
    for (const g of gaps) expect(Math.abs(g - 500)).toBeLessThanOrEqual(60);
    const latest = server.latestTelemetry('board');
    for (const key of ['climate_temperature', 'climate_humidity', 'ambient_temperature', 'ambient_humidity', 'ambient_pressure', 'battery_v']) {
      expect(typeof latest[key].value).toBe('number');
    }
    expect(server.attributes('board', 'client')).toMatchObject({ firmware: 'tbxs', board: 'tbxs-simulated' });
  });

  it('a shared attribute changes the interval at once and the setting is stored', async () => {
    const { server, sim, store } = await setup(500);
    await waitFor(() => stamps(server).length >= 2, 'two readings at 500 ms');
    server.setSharedAttributes('board', { telemetryIntervalMs: 1000 });
    await waitFor(() => sim.firmware.settings.telemetryIntervalMs === 1000, 'setting applied');
    const from = stamps(server).length;
    await waitFor(() => stamps(server).length >= from + 3, 'three readings at 1000 ms', 6000);
    const ts = stamps(server).slice(from);
    for (const g of ts.slice(1).map((t, i) => t - ts[i])) expect(Math.abs(g - 1000)).toBeLessThanOrEqual(60);
    expect(JSON.stringify(store.get('appSettings'))).toContain('1000');
    // An invalid value is refused and the old one kept.
    server.setSharedAttributes('board', { telemetryIntervalMs: 5 });
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.firmware.settings.telemetryIntervalMs).toBe(1000);
  }, 15_000);

  it('toggle_gpio, setGpioStatus and getGpioStatus round trips; an unknown pin and an input get error replies', async () => {
    const { server } = await setup(5000);
    const rpc = (method: string, params: unknown) => server.sendRpc('board', method, params as never, { timeoutMs: 3000 });
    expect(await rpc('getGpioStatus', {})).toMatchObject({ '2': false, '25': false, '26': false });
    expect(await rpc('toggle_gpio', { pin: 'led' })).toEqual({ led: true });
    // The ThingsBoard GPIO widget sends pin numbers, sometimes as strings, and string booleans.
    expect(await rpc('setGpioStatus', { pin: '25', enabled: 'true' })).toMatchObject({ '2': true, '25': true, '26': false });
    expect(await rpc('getGpioStatus', {})).toMatchObject({ '2': true, '25': true });
    await waitFor(() => server.attributes('board', 'client').relay1 === true && server.attributes('board', 'client').led === true, 'GPIO attributes');
    const unknown = (await rpc('toggle_gpio', { pin: 'laser' })) as { error: string };
    expect(unknown.error).toMatch(/unknown pin/);
    const input = (await rpc('setGpioStatus', { pin: 0, enabled: true })) as { error: string };
    expect(input.error).toMatch(/button|input|not an output/);
  });

  it('a failing sensor reports an error key while the others keep reporting', async () => {
    const { server, sim } = await setup(500);
    await waitFor(() => stamps(server).length >= 1, 'a first reading');
    sim.io.sht3x.answering = false;
    await waitFor(() => 'climate_error' in server.latestTelemetry('board'), 'climate_error', 3000);
    const before = server.telemetryHistory('board', 'ambient_pressure').length;
    await waitFor(() => server.telemetryHistory('board', 'ambient_pressure').length > before, 'ambient still reporting', 3000);
    expect(String(server.latestTelemetry('board').climate_error.value)).toMatch(/no-device/);
  });
});
