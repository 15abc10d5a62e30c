/**
 * Gateway vs direct connections: the same telemetry load (N devices x R readings, QoS 1) sent
 * through one GatewayClient connection (one v1/gateway/telemetry message per round carrying all N
 * children) and through N DeviceClient connections (one v1/devices/me/telemetry message per
 * reading, each device with its own token), for N = 1, 10, 100, against the local
 * ThingsBoard-compatible server on 127.0.0.1. Prints figures, asserts nothing (DESIGN.md).
 *
 *   npm run bench:gateway -- [--readings 20000] [--window 8] [--counts 1,10,100]
 *
 * `--readings` is the total per run (R = readings / N rounds). Both sides run a closed loop with
 * `--window` messages awaiting their PUBACK per connection (the gateway: `window` rounds in
 * flight; each direct device: `window` readings in flight), which is also each session's
 * maxInflight. A reading is one device's telemetry entry ({ts, values:{temperature, humidity,
 * seq}}); `readings_per_s` counts them, `msgs_per_s` counts MQTT PUBLISH packets. After every run
 * the server's latest `seq` of every device is checked (`verified`).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { MqttSession } from '../../src/mqtt/session';
import { DeviceClient } from '../../src/thingsboard/device-client';
import { GatewayClient } from '../../src/thingsboard/gateway-client';
import type { TimedValues } from '../../src/thingsboard/telemetry';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';

export interface GatewayBenchOptions {
  /** Device counts to compare. */
  counts: number[];
  /** Readings per run (all devices together). */
  readings: number;
  /** PUBLISHes awaiting PUBACK per connection. */
  window: number;
  /** Untimed rounds before each run. */
  warmupRounds: number;
  log?: (line: string) => void;
}

export const DEFAULT_OPTIONS: GatewayBenchOptions = { counts: [1, 10, 100], readings: 20_000, window: 8, warmupRounds: 20 };

export interface RunFigures {
  devices: number;
  rounds: number;
  readings: number;
  messages: number;
  elapsedMs: number;
  readingsPerS: number;
  msgsPerS: number;
  /** Every device's latest seq on the server is the last round's. */
  verified: boolean;
}

export interface CountFigures {
  devices: number;
  gateway: RunFigures;
  direct: RunFigures;
  /** gateway readings/s divided by direct readings/s. */
  ratio: number;
}

export interface GatewayBenchResult {
  counts: CountFigures[];
  /** Bytes of one gateway telemetry message for the largest count. */
  gatewayMessageBytes: number;
}

function newSession(server: TbServer, token: string, window: number): MqttSession {
  return new MqttSession({
    connector: new NodeConnector(),
    clock: nodeClock,
    host: server.host,
    port: server.mqttPort,
    clientId: 'bench-' + token,
    username: token,
    maxInflight: window,
    maxQueuedMessages: Math.max(32, window * 2),
    maxQueuedBytes: 256 * 1024,
    reconnect: { initialMs: 100, maxMs: 1000 },
  });
}

/** Time stamps grow from run to run, so the server's latest value is always the newest run's. */
let tsBase = 1_700_000_000_000;

function reading(round: number, device: number): TimedValues {
  return { ts: tsBase + round, values: { temperature: 20 + ((round + device) % 50) / 10, humidity: 40 + (round % 20), seq: round } };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('bench: timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs `rounds` rounds with at most `window` in flight; `send(round)` completes on PUBACK. */
function closedLoop(rounds: number, window: number, first: number, send: (round: number) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = first;
    let done = 0;
    const end = first + rounds;
    const start = () => {
      const round = next++;
      send(round).then(() => {
        done++;
        if (done === rounds) resolve();
        else if (next < end) start();
      }, reject);
    };
    for (let i = 0; i < Math.min(window, rounds); i++) start();
  });
}

function figures(devices: number, rounds: number, messages: number, elapsedMs: number, verified: boolean): RunFigures {
  const readings = devices * rounds;
  return { devices, rounds, readings, messages, elapsedMs, readingsPerS: (readings * 1000) / elapsedMs, msgsPerS: (messages * 1000) / elapsedMs, verified };
}

function lastSeqIs(server: TbServer, names: string[], seq: number): boolean {
  return names.every((n) => server.latestTelemetry(n).seq?.value === seq);
}

async function runGateway(server: TbServer, token: string, prefix: string, n: number, o: GatewayBenchOptions): Promise<{ run: RunFigures; bytes: number }> {
  const session = newSession(server, token, o.window);
  const gateway = new GatewayClient({ session, clock: nodeClock, maxChildren: Math.max(128, n) });
  try {
    session.start();
    const names = Array.from({ length: n }, (_, i) => prefix + i);
    for (const name of names) gateway.connectDevice(name, 'bench');
    await until(() => gateway.connected && names.every((x) => server.isConnected(x)), n + ' children attached');
    const round = (r: number) => {
      const data: { [device: string]: TimedValues } = {};
      for (let i = 0; i < n; i++) data[names[i] as string] = reading(r, i);
      return data;
    };
    const bytes = JSON.stringify(round(0)).length;
    await closedLoop(o.warmupRounds, o.window, 0, (r) => gateway.sendTelemetry(round(r)));
    const rounds = Math.max(1, Math.round(o.readings / n));
    const first = o.warmupRounds;
    const t0 = performance.now();
    await closedLoop(rounds, o.window, first, (r) => gateway.sendTelemetry(round(r)));
    const elapsed = performance.now() - t0;
    return { run: figures(n, rounds, rounds, elapsed, lastSeqIs(server, names, first + rounds - 1)), bytes };
  } finally {
    gateway.close();
    session.close();
  }
}

async function runDirect(server: TbServer, tokens: string[], names: string[], o: GatewayBenchOptions): Promise<RunFigures> {
  const n = tokens.length;
  const sessions = tokens.map((t) => newSession(server, t, o.window));
  const clients = sessions.map((session) => new DeviceClient({ session, clock: nodeClock }));
  try {
    for (const s of sessions) s.start();
    await until(() => sessions.every((s) => s.connected), n + ' devices connected');
    await Promise.all(clients.map((c, i) => closedLoop(o.warmupRounds, o.window, 0, (r) => c.sendTelemetry(reading(r, i)))));
    const rounds = Math.max(1, Math.round(o.readings / n));
    const first = o.warmupRounds;
    const t0 = performance.now();
    await Promise.all(clients.map((c, i) => closedLoop(rounds, o.window, first, (r) => c.sendTelemetry(reading(r, i)))));
    const elapsed = performance.now() - t0;
    return figures(n, rounds, n * rounds, elapsed, lastSeqIs(server, names, first + rounds - 1));
  } finally {
    for (const c of clients) c.close();
    for (const s of sessions) s.close();
  }
}

/** Starts its own server, runs every count (gateway first, then direct), stops the server. */
export async function runGatewayBench(options: Partial<GatewayBenchOptions> = {}): Promise<GatewayBenchResult> {
  const o: GatewayBenchOptions = { ...DEFAULT_OPTIONS, ...options };
  const log = o.log ?? (() => {});
  const max = Math.max(...o.counts);
  const server = await startTbServer({
    gateways: o.counts.map((n) => ({ name: 'bench-gw-' + n, token: 'GW' + n })),
    devices: Array.from({ length: max }, (_, i) => ({ name: 'bench-dev-' + i, token: 'DEV' + i })),
  });
  const result: GatewayBenchResult = { counts: [], gatewayMessageBytes: 0 };
  try {
    for (const n of o.counts) {
      tsBase += 100_000_000;
      const g = await runGateway(server, 'GW' + n, 'bench-gw' + n + '-child-', n, o);
      log(`gateway ${n} children: ${g.run.rounds} messages of ${g.bytes} bytes, ${Math.round(g.run.readingsPerS)} readings/s`);
      if (n === max) result.gatewayMessageBytes = g.bytes;
      tsBase += 100_000_000;
      const names = Array.from({ length: n }, (_, i) => 'bench-dev-' + i);
      const d = await runDirect(server, names.map((_, i) => 'DEV' + i), names, o);
      log(`direct ${n} devices: ${d.messages} messages, ${Math.round(d.readingsPerS)} readings/s`);
      result.counts.push({ devices: n, gateway: g.run, direct: d, ratio: g.run.readingsPerS / d.readingsPerS });
    }
  } finally {
    await server.close();
  }
  return result;
}

function parseArgs(argv: string[]): Partial<GatewayBenchOptions> {
  const out: Partial<GatewayBenchOptions> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error('missing value for ' + key);
    if (key === '--readings') out.readings = Number(value);
    else if (key === '--window') out.window = Number(value);
    else if (key === '--warmup') out.warmupRounds = Number(value);
    else if (key === '--counts') out.counts = value.split(',').map(Number);
    else throw new Error('unknown option ' + key);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const o = { ...DEFAULT_OPTIONS, ...args };
  console.log(
    `# local tb-server on 127.0.0.1; QoS 1 telemetry, ${o.readings} readings per run, window ${o.window} per connection, ` +
      `${o.warmupRounds} warm-up rounds; gateway: one message per round with every child; direct: one connection per device`,
  );
  const result = await runGatewayBench({ ...args, log: (l) => console.log('# ' + l) });
  for (const c of result.counts) {
    const n = c.devices;
    console.log(`gateway_${n}_readings_per_s: ${Math.round(c.gateway.readingsPerS)}`);
    console.log(`gateway_${n}_msgs_per_s: ${Math.round(c.gateway.msgsPerS)}`);
    console.log(`direct_${n}_readings_per_s: ${Math.round(c.direct.readingsPerS)}`);
    console.log(`direct_${n}_msgs_per_s: ${Math.round(c.direct.msgsPerS)}`);
    console.log(`ratio_${n}: ${c.ratio.toFixed(2)}`);
    console.log(`verified_${n}: ${c.gateway.verified && c.direct.verified}`);
  }
  console.log(`gateway_message_bytes_${Math.max(...o.counts)}: ${result.gatewayMessageBytes}`);
  const pad = (s: string, w: number) => s.padStart(w);
  console.log('');
  console.log('| devices | gateway readings/s | gateway msgs/s | direct readings/s (= msgs/s) | gateway / direct |');
  console.log('|--------:|-------------------:|---------------:|-----------------------------:|-----------------:|');
  for (const c of result.counts) {
    console.log(
      `| ${pad(String(c.devices), 7)} | ${pad(String(Math.round(c.gateway.readingsPerS)), 18)} | ${pad(String(Math.round(c.gateway.msgsPerS)), 14)} | ` +
        `${pad(String(Math.round(c.direct.readingsPerS)), 28)} | ${pad(c.ratio.toFixed(2), 16)} |`,
    );
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
