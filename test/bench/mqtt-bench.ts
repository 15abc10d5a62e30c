/**
 * QoS 1 publish benchmark: tbxs's MqttSession against MQTT.js 5, same Mosquitto, same payloads,
 * same message counts, in one run. Prints figures, asserts nothing (DESIGN.md, "Tests and
 * benchmarks").
 *
 *   npm run bench:mqtt -- [--messages 20000] [--window 64] [--rounds 3] [--warmup 2000]
 *                         [--rate 2000] [--paced 4000]
 *
 * Two measurements per client and round, clients alternating (tbxs, MQTT.js, tbxs, ...) so drift
 * on this 2-core machine (the broker shares it) hits both alike; the median round is reported:
 *
 * - Throughput (`*_msgs_per_s`): `--messages` QoS 1 publishes through a closed-loop producer with
 *   `--window` publishes outstanding. Both clients get the same window: MQTT.js has no in-flight
 *   limit of its own, and publishing all 20,000 at once would hand it an unbounded window (and
 *   measure its internal write buffer) while tbxs is capped by `maxInflight`. So the producer
 *   starts `window` publishes, then publishes the next one from each completion callback (PUBACK),
 *   for both clients. tbxs gets `maxInflight = window` and a queue as large as the window, which
 *   the producer can never overflow, so neither client waits on anything but the broker's acks.
 *   Latencies of this run are printed too (`*_window_ack_*`), but they are mostly queueing time.
 * - Ack latency (`*_ack_p50_ms`, `*_ack_p99_ms`): a paced, open-loop run of `--paced` publishes at
 *   `--rate` msg/s (well under either client's throughput), each timed from the publish() call to
 *   its PUBACK callback, so the figure is the client + broker round trip, not queueing.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { MqttSession } from '../../src/mqtt/session';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { startMosquitto } from '../support/mosquitto';

export const TOPIC = 'v1/devices/me/telemetry';

export interface BenchOptions {
  /** Broker address; the benchmark does not start or stop it. */
  host: string;
  port: number;
  /** Publishes per throughput run. */
  messages: number;
  /** Publishes outstanding (sent, not yet acknowledged) in the throughput run; tbxs's maxInflight. */
  window: number;
  /** Throughput + latency rounds per client. */
  rounds: number;
  /** Untimed throughput-style publishes per client before the first round. */
  warmup: number;
  /** Publishes per second in the paced latency run. */
  rate: number;
  /** Publishes per paced latency run. */
  paced: number;
  /** Progress lines (default none). */
  log?: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<BenchOptions, 'host' | 'port'> = {
  messages: 20_000,
  window: 64,
  rounds: 3,
  warmup: 2_000,
  rate: 2_000,
  paced: 4_000,
};

/** One run of one client. */
export interface RunFigures {
  messages: number;
  /** Publishes whose callback reported success; must equal `messages`. */
  acked: number;
  errors: number;
  elapsedMs: number;
  msgsPerS: number;
  ackP50Ms: number;
  ackP99Ms: number;
}

export interface ClientFigures {
  /** Median throughput round (by msgs/s), with that round's window latencies. */
  throughput: RunFigures;
  /** Median of the paced rounds' p50 and p99 (each taken separately). */
  latency: { ackP50Ms: number; ackP99Ms: number; acked: number; messages: number };
  rounds: { throughput: RunFigures[]; paced: RunFigures[] };
}

export interface BenchResult {
  packetBytes: number;
  payloadBytes: number;
  tbxs: ClientFigures;
  mqttjs: ClientFigures;
  /** tbxs throughput / MQTT.js throughput. */
  ratio: number;
}

/** Deterministic ThingsBoard telemetry, the same length (56 bytes) for every message. */
export function makePayloads(count: number): string[] {
  const out: string[] = new Array(count);
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < count; i++) {
    const temperature = (20 + ((i * 37) % 1000) / 100).toFixed(2); // 20.00..29.99
    const humidity = (40 + ((i * 13) % 200) / 10).toFixed(1); // 40.0..59.9
    out[i] = '{"temperature":' + temperature + ',"humidity":' + humidity + ',"ts":' + (t0 + i * 100) + '}';
  }
  return out;
}

/** The publish call of one client: `done` must be called once, on PUBACK or on failure. */
type Publish = (payload: string, done: (error?: unknown) => void) => void;

interface BenchClient {
  name: string;
  publish: Publish;
  close(): Promise<void>;
}

async function openTbxs(host: string, port: number, window: number): Promise<BenchClient> {
  const session = new MqttSession({
    connector: new NodeConnector(),
    clock: nodeClock,
    host,
    port,
    clientId: 'bench-tbxs-' + process.pid,
    keepaliveSeconds: 60,
    maxInflight: window,
    // The producer never has more than `window` publishes outstanding, so a queue of that size
    // (plus slack for the publish made inside a PUBACK callback) never refuses one.
    maxQueuedMessages: window + 1,
    maxQueuedBytes: (window + 1) * 256,
  });
  await new Promise<void>((resolve, reject) => {
    const offConnect = session.events.on('connect', () => {
      offConnect();
      offError();
      resolve();
    });
    const offError = session.events.on('error', (e) => {
      offConnect();
      offError();
      session.close();
      reject(e);
    });
    session.start();
  });
  return {
    name: 'tbxs',
    publish: (payload, done) => {
      session.publish(TOPIC, payload, { qos: 1 }, done);
    },
    close: async () => session.close(),
  };
}

async function openMqttjs(host: string, port: number): Promise<BenchClient> {
  const client: MqttClient = mqttConnect({
    host,
    port,
    protocol: 'mqtt',
    protocolVersion: 4,
    clientId: 'bench-mqttjs-' + process.pid,
    clean: true,
    keepalive: 60,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return {
    name: 'mqttjs',
    publish: (payload, done) => {
      client.publish(TOPIC, payload, { qos: 1 }, (error) => done(error));
    },
    close: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function figures(messages: number, acked: number, errors: number, elapsedMs: number, latencies: Float64Array): RunFigures {
  const sorted = latencies.slice(0, acked).sort();
  return {
    messages,
    acked,
    errors,
    elapsedMs,
    msgsPerS: (acked / elapsedMs) * 1000,
    ackP50Ms: percentile(sorted, 50),
    ackP99Ms: percentile(sorted, 99),
  };
}

/** No completion for this long fails the run (a lost PUBACK would otherwise hang the benchmark). */
const STALL_MS = 10_000;

/** Calls `fail` when `poke` has not been called for STALL_MS; `stop` ends the watch. */
function watchdog(fail: () => void): { poke(): void; stop(): void } {
  let last = performance.now();
  const timer = setInterval(() => {
    if (performance.now() - last > STALL_MS) {
      clearInterval(timer);
      fail();
    }
  }, 1000);
  return { poke: () => (last = performance.now()), stop: () => clearInterval(timer) };
}

function stalled(client: BenchClient, what: string, finished: number, count: number): Error {
  return new Error(`${client.name} ${what}: ${finished}/${count} publishes completed, none for ${STALL_MS} ms`);
}

/** Closed loop: `window` publishes outstanding until `count` were acknowledged (or failed). */
function runWindowed(client: BenchClient, payloads: string[], count: number, window: number): Promise<RunFigures> {
  return new Promise((resolve, reject) => {
    const latencies = new Float64Array(count);
    let sent = 0;
    let finished = 0;
    let acked = 0;
    let errors = 0;
    const dog = watchdog(() => reject(stalled(client, 'throughput run', finished, count)));
    const start = performance.now();
    const next = (): void => {
      const i = sent++;
      const t = performance.now();
      client.publish(payloads[i % payloads.length], (error) => {
        if (error) errors++;
        else latencies[acked++] = performance.now() - t;
        finished++;
        dog.poke();
        if (sent < count) next();
        else if (finished === count) {
          dog.stop();
          resolve(figures(count, acked, errors, performance.now() - start, latencies));
        }
      });
    };
    for (let k = 0; k < Math.min(window, count); k++) next();
  });
}

/** Open loop: publishes at `rate` msg/s whatever the acks do, times each one to its PUBACK. */
function runPaced(client: BenchClient, payloads: string[], count: number, rate: number): Promise<RunFigures> {
  return new Promise((resolve, reject) => {
    const latencies = new Float64Array(count);
    let sent = 0;
    let finished = 0;
    let acked = 0;
    let errors = 0;
    const dog = watchdog(() => reject(stalled(client, 'paced run', finished, count)));
    const start = performance.now();
    const publishOne = (): void => {
      const i = sent++;
      const t = performance.now();
      client.publish(payloads[i % payloads.length], (error) => {
        if (error) errors++;
        else latencies[acked++] = performance.now() - t;
        dog.poke();
        if (++finished === count) {
          dog.stop();
          resolve(figures(count, acked, errors, performance.now() - start, latencies));
        }
      });
    };
    // A 1 ms timer tick publishes whatever the schedule says is due by now (about rate/1000 per
    // tick), so timer jitter shifts send times a little but never changes the average rate.
    const tick = (): void => {
      const due = Math.min(count, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) publishOne();
      if (sent < count) setTimeout(tick, 1);
    };
    tick();
  });
}

function median<T>(items: T[], key: (item: T) => number): T {
  const sorted = items.slice().sort((a, b) => key(a) - key(b));
  return sorted[(sorted.length - 1) >> 1];
}

function summarize(throughput: RunFigures[], paced: RunFigures[]): ClientFigures {
  return {
    throughput: median(throughput, (r) => r.msgsPerS),
    latency: {
      ackP50Ms: median(paced, (r) => r.ackP50Ms).ackP50Ms,
      ackP99Ms: median(paced, (r) => r.ackP99Ms).ackP99Ms,
      acked: paced.reduce((n, r) => n + r.acked, 0),
      messages: paced.reduce((n, r) => n + r.messages, 0),
    },
    rounds: { throughput, paced },
  };
}

/** The benchmark proper, against a broker someone else runs. */
export async function runMqttBench(options: Partial<BenchOptions> & Pick<BenchOptions, 'host' | 'port'>): Promise<BenchResult> {
  const o: BenchOptions = { ...DEFAULT_OPTIONS, ...options };
  const log = o.log ?? (() => {});
  const payloads = makePayloads(Math.max(o.messages, o.paced, o.warmup, 1));
  const payloadBytes = Buffer.byteLength(payloads[0]);
  const packetBytes = 2 + 2 + Buffer.byteLength(TOPIC) + 2 + payloadBytes;

  const clients = [await openTbxs(o.host, o.port, o.window), await openMqttjs(o.host, o.port)];
  const runs = new Map<string, { throughput: RunFigures[]; paced: RunFigures[] }>();
  for (const c of clients) runs.set(c.name, { throughput: [], paced: [] });
  try {
    if (o.warmup > 0) {
      for (const c of clients) {
        const w = await runWindowed(c, payloads, o.warmup, o.window);
        log(`# warm-up ${c.name}: ${w.acked}/${w.messages} acked, ${Math.round(w.msgsPerS)} msg/s`);
      }
    }
    for (let round = 1; round <= o.rounds; round++) {
      // Alternate who goes first so neither always runs right after the other's load.
      const order = round % 2 === 1 ? clients : clients.slice().reverse();
      for (const c of order) {
        const t = await runWindowed(c, payloads, o.messages, o.window);
        runs.get(c.name)!.throughput.push(t);
        log(
          `# round ${round} ${c.name} throughput: ${Math.round(t.msgsPerS)} msg/s, ${t.acked}/${t.messages} acked, ` +
            `window ack p50 ${t.ackP50Ms.toFixed(3)} ms p99 ${t.ackP99Ms.toFixed(3)} ms`,
        );
      }
      for (const c of order) {
        const p = await runPaced(c, payloads, o.paced, o.rate);
        runs.get(c.name)!.paced.push(p);
        log(
          `# round ${round} ${c.name} paced ${o.rate} msg/s: ack p50 ${p.ackP50Ms.toFixed(3)} ms p99 ${p.ackP99Ms.toFixed(3)} ms, ` +
            `${p.acked}/${p.messages} acked`,
        );
      }
    }
  } finally {
    for (const c of clients) await c.close();
  }
  const tbxs = summarize(runs.get('tbxs')!.throughput, runs.get('tbxs')!.paced);
  const mqttjs = summarize(runs.get('mqttjs')!.throughput, runs.get('mqttjs')!.paced);
  return { packetBytes, payloadBytes, tbxs, mqttjs, ratio: tbxs.throughput.msgsPerS / mqttjs.throughput.msgsPerS };
}

function parseArgs(argv: string[]): Partial<BenchOptions> {
  const out: Partial<BenchOptions> = {};
  const names: Record<string, keyof BenchOptions> = {
    '--messages': 'messages',
    '--window': 'window',
    '--rounds': 'rounds',
    '--warmup': 'warmup',
    '--rate': 'rate',
    '--paced': 'paced',
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const key = names[flag];
    if (!key) throw new Error('unknown argument ' + argv[i] + ' (known: ' + Object.keys(names).join(' ') + ')');
    const text = inline ?? argv[++i];
    const value = Number(text);
    const min = key === 'warmup' ? 0 : 1;
    if (!Number.isInteger(value) || value < min) throw new Error(flag + ' needs an integer >= ' + min + ', got ' + text);
    (out as Record<string, number>)[key] = value;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // The test launcher logs every packet (log_type all); `log_type none` resets that, so the broker
  // spends its time on MQTT rather than on a log line per PUBLISH and PUBACK, which would be most
  // of what is measured and add noise. Errors, warnings, notices and information stay on: the launcher waits for the
  // "running" line. TCP_NODELAY on the broker keeps Nagle from holding back PUBACKs, so the paced
  // latency is the clients' and the broker's work, not a TCP timer (ThingsBoard sets it too).
  const broker = await startMosquitto({
    extraConfig: ['log_type none', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', 'set_tcp_nodelay true'],
  });
  let result: BenchResult;
  try {
    const o = { ...DEFAULT_OPTIONS, ...args };
    console.log(
      `# mosquitto on ${broker.url}; QoS 1 to ${TOPIC}, ${o.messages} messages per throughput run, window ${o.window}, ` +
        `${o.rounds} rounds alternating, warm-up ${o.warmup}; latency: ${o.paced} messages paced at ${o.rate} msg/s`,
    );
    result = await runMqttBench({ ...args, host: broker.host, port: broker.port, log: (l) => console.log(l) });
  } finally {
    await broker.stop();
  }
  const f = (x: number) => x.toFixed(3);
  console.log(`# packet ${result.packetBytes} bytes (payload ${result.payloadBytes} bytes)`);
  console.log('# throughput: closed loop, median round (messages/s)');
  console.log(`tbxs_msgs_per_s: ${Math.round(result.tbxs.throughput.msgsPerS)}`);
  console.log(`mqttjs_msgs_per_s: ${Math.round(result.mqttjs.throughput.msgsPerS)}`);
  console.log('# ack latency in that throughput run (mostly window queueing), median round');
  console.log(`tbxs_window_ack_p50_ms: ${f(result.tbxs.throughput.ackP50Ms)}`);
  console.log(`tbxs_window_ack_p99_ms: ${f(result.tbxs.throughput.ackP99Ms)}`);
  console.log(`mqttjs_window_ack_p50_ms: ${f(result.mqttjs.throughput.ackP50Ms)}`);
  console.log(`mqttjs_window_ack_p99_ms: ${f(result.mqttjs.throughput.ackP99Ms)}`);
  console.log('# ack latency, paced run: publish() call to PUBACK callback, median round');
  console.log(`tbxs_ack_p50_ms: ${f(result.tbxs.latency.ackP50Ms)}`);
  console.log(`tbxs_ack_p99_ms: ${f(result.tbxs.latency.ackP99Ms)}`);
  console.log(`mqttjs_ack_p50_ms: ${f(result.mqttjs.latency.ackP50Ms)}`);
  console.log(`mqttjs_ack_p99_ms: ${f(result.mqttjs.latency.ackP99Ms)}`);
  console.log(`ratio: ${result.ratio.toFixed(2)}`);
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
