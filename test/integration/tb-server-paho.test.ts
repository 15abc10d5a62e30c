// Local ThingsBoard-compatible server against an MQTT 5 client that is not MQTT.js: Eclipse Paho
// (Debian's python3-paho-mqtt, which .ci/run installs), the library ThingsBoard's Python SDK 1.x
// connects with, driven as the SDK drives it. Fails, not skips, without it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';

const SCRIPT = fileURLToPath(new URL('../support/paho-mqtt5-client.py', import.meta.url));
// Debian's interpreter, where apt puts paho (a python3 first on PATH may be another one).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let server: TbServer;
const log: string[] = [];

beforeAll(async () => {
  server = await startTbServer({ devices: [{ name: 'paho', token: 'PAHO' }], log: (l) => log.push(l) });
});

afterAll(async () => {
  await server.close();
});

function runPaho(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPT, String(server.mqttPort), 'PAHO'], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) {
        const missing = /No module named 'paho'/.test(stderr);
        reject(new Error(missing ? `${PYTHON} has no paho: apt-get install python3-paho-mqtt (as .ci/run does)` : `${error.message}\n${stderr}`));
      } else resolve(stdout);
    });
  });
}

describe('Paho MQTT 5 (the Python SDK\'s library)', () => {
  it('reads the CONNACK limits, gets reason codes in the SUBACK, uses a topic alias, gets an RPC answer', async () => {
    const seen = JSON.parse(await runPaho()) as Record<string, unknown>;
    expect(seen.connack).toEqual({ reason: 'Success', MaximumPacketSize: 65_536, ReceiveMaximum: 100, TopicAliasMaximum: 16, MaximumQoS: 1 });
    expect(seen.suback).toEqual(['Granted QoS 1', 'Granted QoS 1', 'Granted QoS 1', 'Granted QoS 1', 'Topic filter invalid']);
    expect(seen.rpc).toEqual({ topic: 'v1/devices/me/rpc/response/1', body: { maxPayloadSize: 65_536, maxInflightMessages: 100, rateLimits: { messages: '', telemetryMessages: '', telemetryDataPoints: '' } } });
    expect(seen.pubacks).toBe(3);
    // Two keys: both messages may land in the same millisecond (one value per key and ts).
    const t = server.latestTelemetry('paho');
    expect([t.first?.value, t.second?.value]).toEqual([1, 2]);
    expect(log.some((l) => l.includes('paho connected (device, MQTT 5, clientId "paho5")'))).toBe(true);
  });
});
