import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/platform/log';
import { parseGatewayOptions, startHostGateway } from '../../targets/host/cli/gateway-command';
import { startTbServer } from '../../targets/host/tb-server/index';
import { waitFor } from '../support/wait';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('tbxs gateway', () => {
  it('runs N simulated children through one connection, each with the firmware loop and GPIO RPCs', async () => {
    const server = await startTbServer({ mqttPort: 0, httpPort: 0, rpcMinTimeoutMs: 0, gateways: [{ name: 'gw', token: 'GWTOKEN' }] });
    cleanups.push(() => server.close());
    const state = mkdtempSync(join(tmpdir(), 'tbxs-gw-'));
    cleanups.push(() => rmSync(state, { recursive: true, force: true }));
    const options = parseGatewayOptions(['--host', '127.0.0.1', '--port', String(server.mqttPort), '--token', 'GWTOKEN', '--children', '3', '--state-dir', state]);
    const gw = await startHostGateway(options, silentLog);
    cleanups.push(() => gw.close());
    const names = ['child-1', 'child-2', 'child-3'];
    const hasTelemetry = (n: string) => server.getDevice(n) !== undefined && 'climate_temperature' in server.latestTelemetry(n);
    await waitFor(() => names.every(hasTelemetry), 'telemetry from every child', 10_000);
    expect(server.sessions().filter((s) => s.kind === 'gateway').length).toBe(1);
    const [a, b] = await Promise.all([
      server.sendRpc('child-1', 'toggle_gpio', { pin: 'led' }, { timeoutMs: 3000 }),
      server.sendRpc('child-2', 'getGpioStatus', {}, { timeoutMs: 3000 }),
    ]);
    expect(a).toEqual({ led: true });
    expect(b).toHaveProperty('2', false);
    await waitFor(() => server.attributes('child-1', 'client').led === true, 'led attribute of child-1');
    expect(server.attributes('child-2', 'client').led).toBe(false);
  });
});
