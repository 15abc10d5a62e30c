/**
 * Session limits end to end: the local server started with the `tbxs server --rate-limit` flags
 * enforces them and reports them through getSessionLimits; the device (`tbxs device`, Node and XS
 * engines) told to outrun them with --telemetry-ms stays under them without one disconnect or
 * violation, and says so in a log line per window, not per message; a plain MQTT client flooding
 * the same server is cut off.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { parseServerOptions } from '../../targets/host/cli/server-command';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import type { TbEvent } from '../../targets/host/tb-server/types';
import { waitFor } from '../support/wait';

const BIN = join(__dirname, '../../bin/tbxs.mjs');
const children: ChildProcess[] = [];
let server: TbServer | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await server?.close();
  server = undefined;
});

const FLAGS = [
  '--rate-limit', 'messages=10:1,300:60',
  '--rate-limit', 'telemetryMessages=1:1,20:30',
  '--rate-limit', 'telemetryDataPoints=40:1',
  '--rate-limit', 'maxInflightMessages=3',
  '--rate-limit', 'maxPayloadSize=8192',
];

describe('session limits, server and device', () => {
  it('the --rate-limit flags set what the server enforces and reports', () => {
    const o = parseServerOptions(FLAGS);
    expect(o.rateLimits).toEqual({ messages: '10:1,300:60', telemetryMessages: '1:1,20:30', telemetryDataPoints: '40:1' });
    expect(o.maxInflightMessages).toBe(3);
    expect(o.maxPayloadBytes).toBe(8192);
    expect(parseServerOptions(['--gateway-rate-limit', 'telemetryDataPoints=100:1']).gatewayRateLimits).toEqual({ telemetryDataPoints: '100:1' });
    expect(() => parseServerOptions(['--rate-limit', 'telemetry=1:1'])).toThrow(/KIND=SPEC with KIND one of messages, telemetryMessages, telemetryDataPoints, maxPayloadSize, maxInflightMessages/);
    expect(() => parseServerOptions(['--rate-limit', 'messages=1:0'])).toThrow(/--rate-limit messages: .*N:SECONDS/);
    expect(() => parseServerOptions(['--rate-limit', 'maxPayloadSize=10'])).toThrow(/maxPayloadSize must be a whole number 64\.\./);
    expect(() => parseServerOptions(['--gateway-rate-limit', 'maxInflightMessages=3'])).toThrow(/--gateway-rate-limit must look like KIND=SPEC/);
  });

  for (const engine of ['node', 'xs'] as const) {
    it(`a device (${engine} engine) told to outrun the limits stays under them: no violation, no disconnect; a flooding client is cut off`, async () => {
      server = await startTbServer({ ...parseServerOptions(FLAGS), devices: [{ name: 'paced', token: 'PACED' }, { name: 'flood', token: 'FLOOD' }] });
      const events: TbEvent[] = [];
      server.onEvent((e) => void events.push(e));
      const state = mkdtempSync(join(tmpdir(), 'tbxs-limits-'));
      try {
        const args = ['device', '--engine', engine, '--host', '127.0.0.1', '--port', String(server.mqttPort), '--token', 'PACED', '--state-dir', state, '--telemetry-ms', '500'];
        const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (out += d));
        await waitFor(() => /session limits: /.test(out), 'the device to learn the limits', 20_000);
        const telemetry = () => events.filter((e) => e.type === 'uplink' && e.device === 'paced' && e.topic === 'v1/devices/me/telemetry').length;
        const start = telemetry();
        // Telemetry every 500 ms against at most 1 a second: the device waits, the server sees about 1 a second.
        await new Promise((r) => setTimeout(r, 7000));
        const sent = telemetry() - start;
        expect(sent, out).toBeGreaterThanOrEqual(4);
        expect(sent).toBeLessThanOrEqual(8);
        expect(events.filter((e) => e.type === 'violation' && e.device === 'paced'), out).toEqual([]);
        expect(events.filter((e) => e.type === 'disconnected' && e.device === 'paced')).toEqual([]);
        expect(out).toMatch(/"maxInflightMessages":3/);
        // The waits are said once per limit and minute, not once per message (14 readings were made).
        const said = out.split('\n').filter((l) => /rate limit \w+ "[^"]+" reached/.test(l));
        expect(said.length, out).toBeGreaterThanOrEqual(1);
        expect(said.length, out).toBeLessThanOrEqual(2); // one per limit (messages, telemetryMessages) and minute

        const flood = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, username: 'FLOOD', clientId: 'flood', reconnectPeriod: 0 });
        await new Promise((resolve) => flood.once('connect', resolve));
        let closed = false;
        flood.on('close', () => (closed = true));
        for (let i = 0; i < 10; i++) flood.publish('v1/devices/me/telemetry', JSON.stringify({ i }), { qos: 1 });
        await waitFor(() => closed, 'the flooding client to be cut off', 5000);
        flood.end(true);
        expect(events.some((e) => e.type === 'violation' && e.device === 'flood' && /over the telemetryMessages rate limit/.test(e.reason))).toBe(true);
        expect(server.isConnected('paced')).toBe(true);
        child.kill('SIGINT');
        await waitFor(() => child.exitCode !== null, 'the device to stop', 10_000);
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    }, 60_000);
  }
});
