/**
 * `npm run bench:xs`: the firmware on the real XS engine (xsnap-worker). Prints `name: value` lines:
 * bundle size, load cost, the running firmware's live heap, computrons per telemetry cycle vs a minimal hand
 * encoder, heap growth.
 *
 *   node bin/run-ts.mjs test/bench/xs-bench.ts [--cycles 1000] [--growth 10000] [--repeats 3] [--no-pieces] [--no-stack]
 *
 * Budgets: XS_BUDGETS below; the last line says which were missed.
 */
import { buildXsFirmware } from '../../targets/xsnap/bundle';
import { XsWorker } from '../../targets/xsnap/worker';
import { manifestStackSlots } from '../../targets/xsnap/xs-device';
import { runStackScenario } from '../xs/stack-scenario';
import { buildEsp32Bundle } from '../support/esp32-bundle';

export interface XsBenchOptions {
  cycles: number;
  growthCycles: number;
  repeats: number;
  pieces: boolean;
  /** Search the smallest stack at which the whole stack scenario passes (about 40 s). */
  stackSearch: boolean;
  out: (line: string) => void;
}

/**
 * The XS stack figures: the manifest's creation.stack, and the smallest stack at which every path
 * of test/xs/stack-scenario.ts still passes, by binary search on tbxs's XS host (each probe is a
 * whole scenario run: four XS workers, every step). Then the deepest path: the frames of the
 * overflow one slot below the need, and the three deepest steps of a profiled run at the limit.
 */
async function stackFigures(o: XsBenchOptions, print: (name: string, value: number | string) => void): Promise<void> {
  const limit = manifestStackSlots();
  print('stack_limit_slots', limit);
  o.out("# stack_limit_slots: manifest.json's creation.stack (what mcconfig gives the app; 384 if none)");
  if (!o.stackSearch) return;
  let fail = 64;
  let pass = Math.max(limit, 512);
  while (!(await runStackScenario({ stackSlots: pass })).passed) {
    fail = pass;
    pass *= 2;
    if (pass > 65536) throw new Error('the stack scenario fails at every stack size: a bug, not the stack');
  }
  while (pass - fail > 1) {
    const mid = (pass + fail) >> 1;
    if ((await runStackScenario({ stackSlots: mid })).passed) pass = mid;
    else fail = mid;
  }
  print('stack_need_slots', pass);
  print('stack_need_ratio', Number((pass / limit).toFixed(3)));
  const below = await runStackScenario({ stackSlots: pass - 1 });
  o.out('# stack_need_slots: the smallest stack at which every path of the stack scenario passes (binary search); ' + (pass - 1) + ' fails');
  o.out('# deepest path (the overflow at ' + (pass - 1) + ' slots): ' + (below.overflow ?? below.failures[0] ?? 'none').replace(/^XS worker \S+ died: /, ''));
  const profiled = await runStackScenario({ stackSlots: limit, profile: true });
  const deepest = profiled.peaks.sort((a, b) => b.peak.slots - a.peak.slots).slice(0, 3);
  for (const d of deepest) o.out('# deep step at ' + limit + ': ' + d.peak.slots + ' slots, ' + d.step + ': ' + d.peak.frames.slice(0, 6).map((f) => f.name).join(' < '));
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The ESP32 bundle minified, built fresh from the sources (never a stale dist/). */
async function bundleBytes(): Promise<{ bytes: number; what: string }> {
  const bundle = await buildEsp32Bundle();
  return {
    bytes: Buffer.byteLength(bundle.minified),
    what: 'ESP32 bundle built from the sources as npm run build does (dist/esp32/tbxs.min.js), ' + Buffer.byteLength(bundle.code) + ' bytes readable',
  };
}

/** Packet id of a QoS 1 PUBLISH. */
function packetIdOf(publish: Uint8Array): number {
  let o = 1;
  while (publish[o] & 0x80) o++;
  o++;
  o += 2 + ((publish[o] << 8) | publish[o + 1]);
  return (publish[o] << 8) | publish[o + 1];
}

async function heapAfterGc(worker: XsWorker): Promise<number> {
  await worker.evaluate('gc()');
  return (await worker.evaluate('0')).heapCount;
}

/** Pieces that await the session's jobs, measured against a loop awaiting the same turns. */
const ASYNC_PIECES = new Set(['cycles', 'session', 'client', 'rpc']);

/** What the bench's stand-ins for native parts did so far: timers set, broker work (bench-entry.ts). */
interface StandInCounts {
  sets: number;
  qos1: number;
  other: number;
  flushes: number;
}

async function standInCounts(worker: XsWorker): Promise<StandInCounts> {
  const sets = Number(new TextDecoder().decode((await worker.evaluate('tbxsBench.timerSets()')).reply));
  const broker = JSON.parse(new TextDecoder().decode((await worker.evaluate('tbxsBench.brokerCounts()')).reply)) as Omit<StandInCounts, 'sets'>;
  return { sets, ...broker };
}

/** Computrons per unit of each stand-in: a timer set and run, a QoS 1 PUBLISH written and acknowledged, another packet written, a flush. */
type StandInCosts = StandInCounts;

/**
 * Computrons per call of a piece, less its loop (and awaited turns), and less what the bench's
 * stand-ins for native parts cost (`costs`, measured): Moddable's Timer, and the socket and the
 * broker, which on a device are C and another machine. A socket write still costs the firmware
 * what a SinkSocket write costs (the floor pays that too). The firmware's own clock wrapper
 * (EpochClock) and socket handlers stay counted.
 */
async function perCall(worker: XsWorker, expr: string, n: number, costs?: StandInCosts): Promise<{ net: number; raw: number; per: StandInCounts }> {
  const before = costs ? await standInCounts(worker) : undefined;
  const work = await worker.evaluate(`tbxsBench.${expr}(${n})`);
  const after = costs ? await standInCounts(worker) : undefined;
  const base = await worker.evaluate(`tbxsBench.${ASYNC_PIECES.has(expr) ? 'noopTurns' : 'noop'}(${n})`);
  const raw = (work.computrons - base.computrons) / n;
  const per: StandInCounts = { sets: 0, qos1: 0, other: 0, flushes: 0 };
  let outside = 0;
  if (costs && before && after) {
    for (const key of ['sets', 'qos1', 'other', 'flushes'] as const) {
      per[key] = (after[key] - before[key]) / n;
      outside += per[key] * costs[key];
    }
  }
  return { net: raw - outside, raw, per };
}

/** Computrons per call, loop taken out: a piece without stand-ins. */
async function plain(worker: XsWorker, expr: string, n: number): Promise<number> {
  return (await perCall(worker, expr, n)).net;
}

/** The stand-ins' own costs, measured on their own. */
async function standInCosts(worker: XsWorker, n: number): Promise<StandInCosts> {
  const sink = await plain(worker, 'sinkWrites', n);
  const flush = await brokerCost(worker, n, 2);
  return {
    sets: await plain(worker, 'timerStandIn', n),
    // Its flush() is counted among the flushes: only the PUBACK's making and delivery here.
    qos1: (await brokerCost(worker, n, 0)) - sink - flush,
    other: (await brokerCost(worker, n, 1)) - sink,
    flushes: flush,
  };
}

async function brokerCost(worker: XsWorker, n: number, kind: number): Promise<number> {
  const work = await worker.evaluate(`tbxsBench.brokerStandIn(${n}, ${kind})`);
  const base = await worker.evaluate(`tbxsBench.noop(${n})`);
  return (work.computrons - base.computrons) / n;
}

/** "2.05 timers, 1 QoS 1 publish ..." for the figure's comment. */
function describeStandIns(per: StandInCounts, costs: StandInCosts): string {
  return (
    per.sets.toFixed(2) + ' timers (' + Math.round(costs.sets) + ' each), ' +
    per.qos1.toFixed(2) + ' QoS 1 publishes written and acknowledged (' + Math.round(costs.qos1) + '), ' +
    per.other.toFixed(2) + ' other writes (' + Math.round(costs.other) + '), ' +
    per.flushes.toFixed(2) + ' socket flushes (' + Math.round(costs.flushes) + ')'
  );
}

export async function runXsBench(o: XsBenchOptions): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  const print = (name: string, value: number | string) => {
    if (typeof value === 'number') figures[name] = value;
    o.out(name + ': ' + value);
  };

  const bundle = await bundleBytes();
  print('bundle_bytes', bundle.bytes);
  o.out('# bundle: ' + bundle.what);
  await stackFigures(o, print);

  // Load: a fresh worker, the firmware bundle alone.
  const firmware = await buildXsFirmware('firmware');
  const loader = await XsWorker.start({ stdout: 'ignore', name: 'tbxs-bench-load' });
  try {
    const before = await heapAfterGc(loader);
    const load = await loader.evaluate(firmware);
    print('load_computrons', load.computrons);
    print('load_heap_slots', (await heapAfterGc(loader)) - before);
    o.out('# load_heap_slots: live slots after loading and a GC, minus before; ' + (load.heapCount - before) + ' allocated during the load');
  } finally {
    await loader.close();
  }
  // The same for the ESP32 bundle's modules (Moddable's stubbed), loaded as a plain module graph
  // and as the preload would leave them: in flash but for the objects that stay writable, whose
  // aliases the linker would put in RAM (xsl "not frozen"; preload simulation).
  const esp32 = await XsWorker.start({ stdout: 'ignore', name: 'tbxs-bench-esp32-load' });
  try {
    const before = await heapAfterGc(esp32);
    await esp32.evaluate(await buildXsFirmware('esp32-preload'));
    print('esp32_load_heap_slots', (await heapAfterGc(esp32)) - before);
    const report = JSON.parse(new TextDecoder().decode((await esp32.evaluate('tbxsPreload.aliases()')).reply)) as { aliases: string[]; aliasSlots: number };
    print('load_heap_slots_preloaded', report.aliasSlots);
    o.out('# load_heap_slots_preloaded: RAM slots the preloaded ESP32 bundle can take at run time: ' + report.aliases.length + ' objects left writable (an alias each on first write, the instance and its properties); the rest is in flash' + (report.aliases.length ? ': ' + report.aliases.join(', ') : ''));
  } finally {
    await esp32.close();
  }

  const worker = await XsWorker.start({ stdout: (line) => o.out('# xs: ' + line), name: 'tbxs-bench', meteringLimit: 0 });
  try {
    await worker.evaluate(await buildXsFirmware('bench'));
    const loaded = await heapAfterGc(worker);
    await worker.evaluate('tbxsBench.setup().then(undefined, (e) => { globalThis.tbxsBenchError = String(e) + " " + e.stack; })');
    const setupError = (await worker.evaluate('new TextEncoder().encode(globalThis.tbxsBenchError || "").buffer')).reply;
    if (setupError.length > 0) throw new Error('bench set-up failed on XS: ' + new TextDecoder().decode(setupError));
    const info = JSON.parse(new TextDecoder().decode((await worker.evaluate('tbxsBench.info()')).reply)) as {
      payload: string;
      connected: boolean;
      stats: unknown;
    };
    if (!info.connected) throw new Error('bench set-up: the session is not connected: ' + JSON.stringify(info));
    await worker.evaluate('tbxsBench.cycles(100)'); // warm
    print('run_heap_slots', (await heapAfterGc(worker)) - loaded);
    await worker.evaluate('tbxsBench.setupFloor()');
    // The floor must write the same bytes as the firmware.
    const last = (await worker.evaluate('tbxsBench.lastPublish()')).reply;
    const id = packetIdOf(last);
    const text = Buffer.from(last).toString('utf8');
    const ts = (JSON.parse(text.slice(text.indexOf('{"ts":'))) as { ts: number }).ts;
    const floorBytes = (await worker.evaluate(`tbxsBench.floorPublish(${id}, ${ts})`)).reply;
    if (Buffer.compare(Buffer.from(last), Buffer.from(floorBytes)) !== 0) {
      throw new Error('the floor encoder does not write the firmware\'s bytes:\n' + Buffer.from(last).toString('hex') + '\n' + Buffer.from(floorBytes).toString('hex'));
    }
    o.out('# cycle payload (' + last.length + '-byte PUBLISH): ' + info.payload);
    o.out("# run_heap_slots: live slots the started, connected firmware holds after 100 cycles and a GC, beyond the loaded bundle (preloaded on a device, that part is in flash), its simulated chips and the loopback broker included, the floor's sensors not yet made; Moddable's ESP32 default is 4,928 slots in all");
    // The stand-ins for Moddable's native Timer and for the socket and broker: their costs, taken
    // out of the pieces that run the firmware's timers and socket.
    const costs = await standInCosts(worker, o.cycles);
    const cycle = await perCall(worker, 'cycles', o.cycles, costs);
    const publish = cycle.net;
    const floor = await plain(worker, 'floor', o.cycles);
    print('publish_computrons', Math.round(publish));
    o.out("# publish_computrons: one telemetry cycle, less the bench's stand-ins for native parts: " + describeStandIns(cycle.per, costs) + '; ' + Math.round(cycle.raw) + ' with them; the firmware\'s clock wrapper (EpochClock) and socket handlers are counted');
    print('floor_computrons', Math.round(floor));
    print('publish_ratio', Number((publish / floor).toFixed(2)));
    o.out('# floor: the same cycle hand-written: the same drivers and (replayed) chips, readings rounded into one object, JSON.stringify, hand PUBLISH encoder with the native TextEncoder, socket write');
    // The MQTT/ThingsBoard part alone vs the hand encoder alone (the same payload string).
    const client = await perCall(worker, 'client', o.cycles, costs);
    const mqtt = client.net;
    const encoderOnly = await plain(worker, 'floorEncoder', o.cycles);
    print('mqtt_publish_computrons', Math.round(mqtt));
    print('floor_encoder_computrons', Math.round(encoderOnly));
    print('mqtt_ratio', Number((mqtt / encoderOnly).toFixed(2)));
    o.out('# mqtt_publish: DeviceClient.sendTelemetry({ts, values}) -> checks, JSON, session, encoder, write, then its PUBACK read and the promise settled; ' + Math.round(client.raw) + ' with the stand-ins (' + describeStandIns(client.per, costs) + '); floor_encoder: hand encoder + write of the same payload string');

    // One server-side RPC (getGpioStatus) through the firmware, and its hand-written floor.
    await worker.evaluate('tbxsBench.prepareRpc(10)');
    await worker.evaluate('tbxsBench.rpc(10).then((n) => { globalThis.tbxsRpcReplies = n; }, (e) => { globalThis.tbxsRpcReplies = String(e); })');
    const replies = new TextDecoder().decode((await worker.evaluate('new TextEncoder().encode(String(globalThis.tbxsRpcReplies)).buffer')).reply);
    if (replies !== '10') throw new Error('rpc bench: 10 requests got ' + replies + ' replies');
    await worker.evaluate(`tbxsBench.prepareRpc(${o.cycles})`);
    const rpcRun = await perCall(worker, 'rpc', o.cycles, costs);
    const rpc = rpcRun.net;
    await worker.evaluate(`tbxsBench.prepareRpc(${o.cycles})`);
    const rpcFloor = await plain(worker, 'rpcFloor', o.cycles);
    print('rpc_computrons', Math.round(rpc));
    print('rpc_floor_computrons', Math.round(rpcFloor));
    print('rpc_ratio', Number((rpc / rpcFloor).toFixed(2)));
    o.out('# rpc: a getGpioStatus request frame into the socket handler -> framer, checks, mqtt-packet parse, PUBACK, delivery job, RPC dispatch, handler, reply JSON, QoS 1 reply publish and its PUBACK; ' + Math.round(rpcRun.raw) + ' with the stand-ins (' + describeStandIns(rpcRun.per, costs) + '); floor: hand parse, PUBACK write, JSON.parse, the same GPIO read, JSON.stringify, hand encoder, write');

    if (o.pieces) {
      await worker.evaluate(`tbxsBench.prepareRpc(${o.cycles})`);
      for (const piece of ['sensors', 'json', 'encode', 'session', 'ackPath', 'rpcParse', 'ids', 'checks', 'promise', 'collect']) {
        o.out('# piece ' + piece + ': ' + Math.round(ASYNC_PIECES.has(piece) ? (await perCall(worker, piece, o.cycles, costs)).net : await plain(worker, piece, o.cycles)) + ' computrons per call' + (ASYNC_PIECES.has(piece) ? ', stand-ins out' : ''));
      }
    }

    // Heap growth: slots live after 100 cycles and a GC vs after `growthCycles` more and a GC.
    const growth: number[] = [];
    const idle: number[] = [];
    for (let r = 0; r < o.repeats; r++) {
      await worker.evaluate('tbxsBench.cycles(100)');
      const a = await heapAfterGc(worker);
      await worker.evaluate(`tbxsBench.cycles(${o.growthCycles})`);
      growth.push((await heapAfterGc(worker)) - a);
      // Control: the same requests running zero cycles (what the measuring itself leaves behind).
      const b = await heapAfterGc(worker);
      await worker.evaluate('tbxsBench.cycles(0)');
      idle.push((await heapAfterGc(worker)) - b);
    }
    print('heap_growth_slots', growth[growth.length - 1]);
    o.out('# heap_growth_slots over ' + o.repeats + ' runs of ' + o.growthCycles + ' cycles: ' + growth.join(', ') + '; control (same requests, 0 cycles): ' + idle.join(', ') + '; growth beyond the control: ' + growth.map((g, i) => g - idle[i]).join(', '));
    print('heap_growth_beyond_control_slots', Math.max(...growth.map((g, i) => g - idle[i])));
  } finally {
    await worker.close();
  }
  return figures;
}

/**
 * The budgets (issue 13), for an ESP32 where flash is plentiful (preloaded code and data: 0 RAM)
 * and RAM and CPU per message are not: bundle_bytes and run_heap_slots are held in npm test
 * (test/xs/xs-bench-smoke.test.ts, sizes: deterministic), the computron ratios by this bench.
 */
export const XS_BUDGETS = Object.freeze({
  bundle_bytes: 131_071,
  run_heap_slots: 1_800,
  stack_need_ratio: 0.75,
  stack_limit_slots: 512,
  publish_ratio: 1.6,
  mqtt_publish_computrons: 1_500,
  rpc_ratio: 3,
  heap_growth_beyond_control_slots: 0,
});

/** The budget lines a run missed, as `name value > budget`. */
export function missedBudgets(figures: Record<string, number>): string[] {
  const misses: string[] = [];
  for (const [name, max] of Object.entries(XS_BUDGETS)) {
    const value = figures[name];
    if (value !== undefined && value > max) misses.push(name + ' ' + value + ' > ' + max);
  }
  return misses;
}

if (process.argv[1] && /xs-bench\.ts$/.test(process.argv[1])) {
  const figures = await runXsBench({
    cycles: flag('cycles', 1000),
    growthCycles: flag('growth', 10_000),
    repeats: flag('repeats', 3),
    pieces: !process.argv.includes('--no-pieces'),
    stackSearch: !process.argv.includes('--no-stack'),
    out: (line) => console.log(line),
  });
  const misses = missedBudgets(figures);
  console.log('# targets: ' + (misses.length ? 'missed: ' + misses.join('; ') : 'all met'));
}
