/**
 * Chaos run (issue 6): one MqttSession per target publishes QoS 1 telemetry without pause (a unique
 * sequence number in each payload) through the fault proxy, while N random faults hit the link and
 * the broker. At the end it prints one `name: value` line per figure; lost must be 0.
 *
 * What is measured, exactly:
 * - published: publish() calls; acknowledged: callbacks that completed without error (PUBACK);
 *   rejected: callbacks with an error (the overflow policy refuses at once with 'queue-full' when
 *   the offline queue is full; every refusal reaches the caller through its callback).
 *   At the end published = acknowledged + rejected + unsettled, and unsettled must be 0.
 * - received: distinct sequence numbers seen on the broker side. Mosquitto: a subscriber on the
 *   telemetry topic (MQTT.js recorder, QoS 1). Local server: its 'uplink' events, emitted in the
 *   publish hook *before* it sends the PUBACK, so "acknowledged but not received" cannot happen
 *   there unless the client invents an acknowledgement.
 * - lost: acknowledged sequence numbers never received. For Mosquitto "received" is what reached
 *   the subscriber, so a loss would also count a broker that PUBACKed and was killed before it
 *   forwarded. Two rules make that a fair measure of the client:
 *   1. The device never talks to a broker that nobody records: before every kill -9 the proxy
 *      starts refusing the device, and it lets the device in again only after the recorder has
 *      resubscribed to the restarted broker (a Mosquitto without persistence drops messages that
 *      no one subscribes to, and a kill loses its state).
 *   2. Mosquitto handles a QoS 1 PUBLISH by queueing it to its subscribers first and sending the
 *      PUBACK after (handle__publish: sub__messages_queue, then send__puback; in 2.0 queueing to
 *      a connected subscriber writes to its socket at once, db__message_insert ->
 *      db__message_write_inflight_out_latest), and on loopback a write lands in the peer's
 *      receive buffer at once. So a PUBACK the device saw means the recorder's copy had left the
 *      broker; only a recorder whose socket was full could make a kill lose it (it reads
 *      continuously, and the run has never seen it).
 *   So lost > 0 means the client reported success for a message the broker never had. The one
 *   way the client could be fooled without a bug: MQTT has no checksum, and a corrupted PUBACK
 *   can carry the id of another message in flight; corruption windows never overlap a fault that
 *   cuts connections, so such a message was already written over a healthy link and arrives.
 * - duplicates: sequence numbers received more than once (resends after a lost PUBACK: QoS 1 is
 *   at-least-once, so these are expected, never counted as loss).
 * - max_reconnect_ms: for each fault that cut the device off, from the moment the broker or link
 *   was usable again (recorder resubscribed / server listening / fault cleared) to the device's
 *   next CONNACK. Bounded by the reconnect backoff cap plus a connection time.
 * - <target>.drainCuts: after the last fault, publishing stops and every callback must fire. A
 *   corrupted PUBACK that still parses (another packet id, an UNSUBACK) leaves its publish in
 *   flight on a live connection, and MQTT 3.1.1 resends only after a reconnect; if anything is
 *   still unacknowledged 5 s after the last fault the link is cut once and counted here.
 * - peak_heap_mb: the largest V8 heapUsed sampled every 100 ms in this process (client, proxy,
 *   recorder and the local server all live here; Mosquitto is a separate process).
 *
 * Faults (one at a time, each for a random short while, then cleared): broker kill -9 + restart
 * (Mosquitto) or stopMqtt()/startMqtt() (local server), proxy closeAll (FIN), reset (RST),
 * blackhole (ended by cutting the connections: the proxy drops bytes where TCP would hold them, so
 * a resumed connection would have a hole no real TCP stream has), refuse, delay, split writes,
 * duplicate and reorder broker -> client packets, corrupt broker -> client bytes (only that way:
 * corrupting broker-bound bytes would corrupt the stored data; the client must detect what it can
 * and close).
 *
 * CLI: node bin/run-ts.mjs test/chaos/chaos.ts --faults N [--target mosquitto|tbserver|both] [--seed S]
 */
import { MqttSession } from '../../src/mqtt/session';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { mulberry32, startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { recordTopic, startMosquitto, type MosquittoHandle, type TopicRecorder } from '../support/mosquitto';
import { argValue } from '../support/cli-args';

export type ChaosTarget = 'mosquitto' | 'tbserver' | 'both';

export interface ChaosOptions {
  faults: number;
  target: ChaosTarget;
  seed: number;
  log?: (line: string) => void;
  /** Publishes per second per target. Default 400. */
  rate?: number;
  /** Longest a fault stays on, ms. Default 600. */
  maxFaultMs?: number;
}

export interface ChaosFigures {
  published: number;
  acknowledged: number;
  received: number;
  lost: number;
  duplicates: number;
  rejected: number;
  max_reconnect_ms: number;
  peak_heap_mb: number;
}

export interface TargetReport extends ChaosFigures {
  target: 'mosquitto' | 'tbserver';
  faults: Record<string, number>;
  /** Publish callbacks still not called at the end (must be 0). */
  unsettled: number;
  /** Callbacks called more than once (must be 0). */
  doubleCallbacks: number;
  reconnects: number;
  sessionErrors: Record<string, number>;
  /** Sequence numbers of lost messages (first 20). */
  lostSample: number[];
  /** Links cut at the end because a PUBACK eaten by corruption left a publish in flight (see drain). */
  drainCuts: number;
  /** Largest session.stats seen, against the caps. */
  peakStats: { queued: number; inflight: number; pendingInbound: number };
  problems: string[];
}

export interface ChaosResult extends ChaosFigures {
  targets: TargetReport[];
  ms: number;
  ok: boolean;
}

const TELEMETRY_MQ = 'chaos/telemetry';
const TELEMETRY_TB = 'v1/devices/me/telemetry';
const CAPS = { maxQueuedMessages: 200, maxQueuedBytes: 16_384, maxInflight: 16 };
const BACKOFF = { initialMs: 50, maxMs: 500, jitter: 0.5 };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** The broker side of one target: what it received, and how to take it down and up. */
interface Broker {
  readonly name: 'mosquitto' | 'tbserver';
  readonly port: number;
  readonly topic: string;
  readonly username?: string;
  /** Receipts by sequence number. */
  readonly counts: Map<number, number>;
  /** Takes the broker down (kill -9 / stopMqtt), waits `downMs`, brings it back; resolves when usable. */
  bounce(proxy: FaultProxy, downMs: number): Promise<void>;
  /** Moves fresh receipts into counts (the recorder buffers them). */
  collect(): void;
  close(): Promise<void>;
}

function countSeq(counts: Map<number, number>, payload: string): void {
  const m = /"seq":(\d+)/.exec(payload);
  if (!m) return;
  const seq = Number(m[1]);
  counts.set(seq, (counts.get(seq) ?? 0) + 1);
}

async function mosquittoBroker(): Promise<Broker> {
  const broker: MosquittoHandle = await startMosquitto();
  const recorder: TopicRecorder = await recordTopic(broker.port, TELEMETRY_MQ, { reconnectPeriodMs: 50 });
  const counts = new Map<number, number>();
  const collect = () => {
    for (const m of recorder.messages) countSeq(counts, m.payload.toString('utf8'));
    recorder.clear();
  };
  return {
    name: 'mosquitto',
    port: broker.port,
    topic: TELEMETRY_MQ,
    counts,
    collect,
    async bounce(proxy, downMs) {
      // Rule 1 (see the header): the device is kept out until the recorder listens again.
      proxy.refuse(true);
      const subs = recorder.subscriptions;
      await broker.kill('SIGKILL');
      await sleep(downMs);
      await broker.restart();
      const ok = await waitUntil(() => recorder.subscriptions > subs, 10_000);
      if (!ok) throw new Error('recorder did not resubscribe after the restart\n' + broker.logTail());
      proxy.refuse(false);
    },
    async close() {
      collect();
      await recorder.close();
      await broker.stop();
    },
  };
}

async function tbBroker(): Promise<Broker> {
  const server: TbServer = await startTbServer({ mqttPort: 0, httpPort: 0, devices: [{ name: 'chaos', token: 'CHAOS-TOKEN' }] });
  const counts = new Map<number, number>();
  const off = server.onEvent((e) => {
    if (e.type === 'uplink' && e.device === 'chaos' && e.topic === TELEMETRY_TB) countSeq(counts, e.payload);
  });
  return {
    name: 'tbserver',
    port: server.mqttPort,
    topic: TELEMETRY_TB,
    username: 'CHAOS-TOKEN',
    counts,
    collect() {},
    async bounce(_proxy, downMs) {
      await server.stopMqtt();
      await sleep(downMs);
      await server.startMqtt();
    },
    async close() {
      off();
      await server.close();
    },
  };
}

const FAULTS = [
  ['kill', 3],
  ['closeAll', 2],
  ['reset', 2],
  ['blackhole', 2],
  ['refuse', 1],
  ['delay', 1],
  ['split', 1],
  ['duplicate', 1],
  ['reorder', 1],
  ['corrupt', 2],
] as const;
type FaultName = (typeof FAULTS)[number][0];

function pickFault(rand: () => number): FaultName {
  const total = FAULTS.reduce((a, [, w]) => a + w, 0);
  let x = rand() * total;
  for (const [name, w] of FAULTS) {
    x -= w;
    if (x < 0) return name;
  }
  return 'closeAll';
}

async function runTarget(
  which: 'mosquitto' | 'tbserver',
  faults: number,
  seed: number,
  opts: ChaosOptions,
  heap: { peak: number },
): Promise<TargetReport> {
  const log = opts.log ?? (() => {});
  const rand = mulberry32(seed);
  const broker = which === 'mosquitto' ? await mosquittoBroker() : await tbBroker();
  const proxy = await startFaultProxy({ targetPort: broker.port, seed: seed ^ 0x9e3779b9 });
  const problems: string[] = [];
  const session = new MqttSession({
    connector: new NodeConnector(),
    clock: nodeClock,
    random: mulberry32(seed ^ 0x1234567),
    host: '127.0.0.1',
    port: proxy.port,
    clientId: 'chaos-' + which,
    username: broker.username,
    keepaliveSeconds: 1,
    connectTimeoutMs: 2000,
    connackTimeoutMs: 2000,
    reconnect: BACKOFF,
    // A corrupted CONNACK can read as a refusal (codes 1..5): keep that wait short here.
    refusedBackoff: { initialMs: 200, maxMs: 1000, jitter: 0.2 },
    stableMs: 2000,
    ...CAPS,
  });
  const sessionErrors: Record<string, number> = {};
  session.events.on('error', (e) => {
    sessionErrors[e.code] = (sessionErrors[e.code] ?? 0) + 1;
  });
  let connects = 0;
  let lastConnectAt = 0;
  session.events.on('connect', () => {
    connects++;
    lastConnectAt = Date.now();
  });

  // ---- the publisher ----
  let published = 0;
  const acked: number[] = [];
  let rejected = 0;
  const settled = new Uint8Array(1 << 22);
  let doubleCallbacks = 0;
  const peakStats = { queued: 0, inflight: 0, pendingInbound: 0 };
  const perTick = Math.max(1, Math.round(((opts.rate ?? 400) * 5) / 1000));
  const publisher = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      const seq = published++;
      session.publish(broker.topic, '{"seq":' + seq + ',"t":' + (20 + (seq % 10)) + '}', { qos: 1 }, (error) => {
        if (settled[seq]) {
          doubleCallbacks++;
          return;
        }
        settled[seq] = 1;
        if (error) rejected++;
        else acked.push(seq);
      });
    }
    const s = session.stats;
    peakStats.queued = Math.max(peakStats.queued, s.queued);
    peakStats.inflight = Math.max(peakStats.inflight, s.inflight);
    peakStats.pendingInbound = Math.max(peakStats.pendingInbound, s.pendingInbound);
  }, 5);
  const collector = setInterval(() => broker.collect(), 100);

  session.start();
  let maxReconnectMs = 0;
  const faultCounts: Record<string, number> = {};
  const maxFaultMs = opts.maxFaultMs ?? 600;
  try {
    if (!(await waitUntil(() => session.connected, 5000))) throw new Error(which + ': no first connection');
    for (let i = 0; i < faults; i++) {
      const fault = pickFault(rand);
      faultCounts[fault] = (faultCounts[fault] ?? 0) + 1;
      const holdMs = 50 + Math.floor(rand() * maxFaultMs);
      const connectsBefore = connects;
      let cut = false; // did the fault end the device's connection for sure?
      switch (fault) {
        case 'kill':
          await broker.bounce(proxy, Math.floor(rand() * 300));
          cut = true;
          break;
        case 'closeAll':
          proxy.closeAll();
          cut = true;
          break;
        case 'reset':
          proxy.reset();
          cut = true;
          break;
        case 'blackhole':
          proxy.blackhole(true);
          await sleep(holdMs * 3); // up to ~1.8 s: the 1.5 s keepalive watchdog fires in some
          proxy.reset();
          proxy.blackhole(false);
          cut = true;
          break;
        case 'refuse':
          proxy.refuse(true, rand() < 0.5 ? 'close' : 'reset');
          proxy.closeAll();
          await sleep(holdMs);
          proxy.refuse(false);
          cut = true;
          break;
        case 'delay':
          proxy.delay(rand() < 0.5 ? 10 + Math.floor(rand() * 150) : { toClient: 10 + Math.floor(rand() * 300) });
          await sleep(holdMs);
          proxy.delay(0);
          break;
        case 'split':
          proxy.splitWrites(true, 1 + Math.floor(rand() * 5));
          await sleep(holdMs);
          proxy.splitWrites(false);
          break;
        case 'duplicate':
          proxy.duplicatePackets(true, 0.2 + rand() * 0.8);
          await sleep(holdMs);
          proxy.duplicatePackets(false);
          break;
        case 'reorder':
          proxy.reorderPackets(true, { holdMs: 5 + Math.floor(rand() * 30) });
          await sleep(holdMs);
          proxy.reorderPackets(false);
          break;
        case 'corrupt':
          proxy.corrupt(0.001 + rand() * 0.02);
          await sleep(holdMs);
          proxy.corrupt(0);
          break;
      }
      const backAt = Date.now();
      // The next fault waits for a working connection, so each one hits a live stream.
      const ok = await waitUntil(() => session.connected && (!cut || connects > connectsBefore), 15_000);
      if (!ok) {
        problems.push(`fault ${i} (${fault}): no connection 15 s after the fault ended (state ${session.state})`);
        log(`${which}: ${problems[problems.length - 1]}`);
        break;
      }
      if (connects > connectsBefore) maxReconnectMs = Math.max(maxReconnectMs, Math.max(0, lastConnectAt - backAt));
      await sleep(20 + Math.floor(rand() * 80));
      if ((i + 1) % 100 === 0) log(`${which}: ${i + 1} faults, ${published} published, ${acked.length} acknowledged`);
    }
  } catch (error) {
    problems.push(which + ': ' + (error instanceof Error ? error.message : String(error)));
  }

  // ---- drain: stop publishing, let every callback fire, let the broker side catch up ----
  clearInterval(publisher);
  proxy.clearFaults();
  await waitUntil(() => acked.length + rejected >= published, 5000);
  let drainCuts = 0;
  if (acked.length + rejected < published) {
    // A publish still waits for its PUBACK on a live connection: a corrupted byte turned its PUBACK
    // into one the session ignores (another, unknown packet id; an UNSUBACK), and MQTT 3.1.1
    // resends only on reconnect. Over TCP a PUBACK cannot vanish like that; one cut resends it.
    drainCuts++;
    log(`${which}: ${published - acked.length - rejected} publishes still unacknowledged 5 s after the last fault: cutting the link once`);
    proxy.closeAll();
    await waitUntil(() => acked.length + rejected >= published, 15_000);
  }
  const ackedSet = acked;
  await waitUntil(() => {
    broker.collect();
    for (const seq of ackedSet) if (!broker.counts.has(seq)) return false;
    return true;
  }, 5000);
  clearInterval(collector);
  broker.collect();

  let duplicates = 0;
  for (const c of broker.counts.values()) if (c > 1) duplicates += c - 1;
  const lostList: number[] = [];
  for (const seq of acked) if (!broker.counts.has(seq)) lostList.push(seq);
  let unsettled = 0;
  for (let s = 0; s < published; s++) if (!settled[s]) unsettled++;

  session.close();
  await proxy.close();
  await broker.close();

  if (peakStats.queued > CAPS.maxQueuedMessages) problems.push('queue over its cap: ' + peakStats.queued);
  if (peakStats.inflight > CAPS.maxInflight) problems.push('in flight over its cap: ' + peakStats.inflight);
  if (doubleCallbacks > 0) problems.push(doubleCallbacks + ' publish callbacks called twice');
  if (unsettled > 0) problems.push(unsettled + ' publish callbacks never called');

  return {
    target: which,
    published,
    acknowledged: acked.length,
    received: broker.counts.size,
    lost: lostList.length,
    duplicates,
    rejected,
    max_reconnect_ms: maxReconnectMs,
    peak_heap_mb: Math.round((heap.peak / 1048576) * 10) / 10,
    faults: faultCounts,
    unsettled,
    doubleCallbacks,
    reconnects: connects - 1,
    drainCuts,
    sessionErrors,
    lostSample: lostList.slice(0, 20),
    peakStats,
    problems,
  };
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const heap = { peak: process.memoryUsage().heapUsed };
  const sampler = setInterval(() => {
    heap.peak = Math.max(heap.peak, process.memoryUsage().heapUsed);
  }, 100);
  const which: ('mosquitto' | 'tbserver')[] = opts.target === 'both' ? ['mosquitto', 'tbserver'] : [opts.target];
  let targets: TargetReport[];
  try {
    // 'both': the two targets run side by side, each taking N faults of its own.
    targets = await Promise.all(which.map((w, i) => runTarget(w, opts.faults, (opts.seed + i * 7919) >>> 0, opts, heap)));
  } finally {
    clearInterval(sampler);
  }
  const peakMb = Math.round((heap.peak / 1048576) * 10) / 10;
  for (const t of targets) t.peak_heap_mb = peakMb;
  const sum = (k: keyof ChaosFigures) => targets.reduce((a, t) => a + t[k], 0);
  const result: ChaosResult = {
    published: sum('published'),
    acknowledged: sum('acknowledged'),
    received: sum('received'),
    lost: sum('lost'),
    duplicates: sum('duplicates'),
    rejected: sum('rejected'),
    max_reconnect_ms: Math.max(...targets.map((t) => t.max_reconnect_ms)),
    peak_heap_mb: peakMb,
    targets,
    ms: Date.now() - t0,
    ok: false,
  };
  result.ok = result.lost === 0 && targets.every((t) => t.unsettled === 0 && t.doubleCallbacks === 0);
  return result;
}

export function formatChaos(r: ChaosResult): string[] {
  const lines = [
    'published: ' + r.published,
    'acknowledged: ' + r.acknowledged,
    'received: ' + r.received,
    'lost: ' + r.lost,
    'duplicates: ' + r.duplicates,
    'rejected: ' + r.rejected,
    'max_reconnect_ms: ' + r.max_reconnect_ms,
    'peak_heap_mb: ' + r.peak_heap_mb,
  ];
  for (const t of r.targets) {
    const p = t.target + '.';
    for (const k of ['published', 'acknowledged', 'received', 'lost', 'duplicates', 'rejected', 'max_reconnect_ms', 'reconnects', 'unsettled', 'drainCuts'] as const) {
      lines.push(p + k + ': ' + t[k]);
    }
    lines.push(p + 'faults: ' + JSON.stringify(t.faults));
    lines.push(p + 'session_errors: ' + JSON.stringify(t.sessionErrors));
    lines.push(p + 'peak_stats: ' + JSON.stringify(t.peakStats));
    if (t.lostSample.length) lines.push(p + 'lost_sample: ' + t.lostSample.join(','));
    for (const problem of t.problems) lines.push(p + 'problem: ' + problem);
  }
  lines.push('ms: ' + r.ms);
  return lines;
}


const isMain = process.argv[1] !== undefined && /chaos\.ts$/.test(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const faults = Number(argValue(args, '--faults') ?? 100);
  const target = (argValue(args, '--target') ?? 'both') as ChaosTarget;
  const seed = Number(argValue(args, '--seed') ?? 1);
  if (!Number.isInteger(faults) || faults < 0 || !['mosquitto', 'tbserver', 'both'].includes(target) || !Number.isInteger(seed)) {
    console.error('usage: node bin/run-ts.mjs test/chaos/chaos.ts --faults N [--target mosquitto|tbserver|both] [--seed S]');
    process.exit(2);
  }
  const log = (line: string) => console.log(line);
  runChaos({ faults, target, seed, log }).then(
    (r) => {
      for (const line of formatChaos(r)) console.log(line);
      process.exit(r.ok ? 0 : 1);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(2);
    },
  );
}
