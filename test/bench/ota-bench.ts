/**
 * `npm run bench:ota`: one firmware download over MQTT on loopback per line, local server ->
 * counting proxy -> simulated device, for a 1 MB image at chunk sizes 512, 1024 and 4096, on the
 * Node engine and on the XS engine (xsnap-worker, the manifest's stack). Prints `name: value` lines:
 * time from the assignment to `fw_state` UPDATING (downloaded, verified, installed), bytes on the
 * wire both ways against the image size (overhead ratio), and on XS the live heap (slots after a
 * forced GC, sampled during the download) against the same device idle, for two image sizes so that
 * growth with the image shows.
 *
 *   node bin/run-ts.mjs test/bench/ota-bench.ts [--bytes 1048576] [--chunks 512,1024,4096] [--small 262144] [--engines node,xs]
 *
 * Telemetry is set to one an hour so that the wire counts are the update's own (plus the
 * connection's PINGREQ/PINGRESP and the few state reports).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHostDevice } from '../../targets/host/cli/device-command';
import { startTbServer } from '../../targets/host/tb-server/index';
import { runXsDevice, type XsDevice } from '../../targets/xsnap/xs-device';
import { startFaultProxy } from '../support/fault-proxy';
import { waitFor } from '../support/wait';

export type OtaEngine = 'node' | 'xs';

export interface OtaRun {
  engine: OtaEngine;
  imageBytes: number;
  chunkBytes: number;
  /** Assignment to the UPDATING report reaching the server. */
  ms: number;
  /** Chunk requests the server answered. */
  requests: number;
  /** Bytes through the proxy during the download: device -> server, server -> device. */
  bytesUp: number;
  bytesDown: number;
  /** (bytesUp + bytesDown) / imageBytes. */
  overhead: number;
  /**
   * XS only (heap runs): live slots after a GC, idle and connected before the assignment; the
   * peak of the samples taken during the download (the state reports at its start and end), and
   * the median above idle (the chunk loop itself).
   */
  idleSlots?: number;
  peakSlots?: number;
  medianSlots?: number;
  samples?: number;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[sorted.length >> 1]!;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const HOUR_MS = 3_600_000;

/**
 * Live slots after a GC, without an `evaluate` per sample: each evaluate keeps one slot in
 * xsnap-worker (measured: 1,000 idle samples by evaluate grew the heap by 2,000 slots), so a
 * wrapper around the firmware's handleCommand, installed once, takes an empty command as "GC now";
 * the command's reply carries the heap count (1,000 idle samples this way: 0 growth).
 */
async function installGcProbe(device: XsDevice): Promise<void> {
  await device.worker.evaluate('(() => { const h = globalThis.handleCommand; globalThis.handleCommand = (b) => (b.byteLength === 0 ? (gc(), undefined) : h(b)); })()');
}

async function liveSlots(device: XsDevice): Promise<number> {
  return (await device.worker.command(new Uint8Array(0))).heapCount;
}

/** One download: a fresh server, proxy, device (and OTA directory) per run, all closed at the end. */
export async function runOtaDownload(engine: OtaEngine, imageBytes: number, chunkBytes: number, sampleHeap = false): Promise<OtaRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tbxs-ota-bench-'));
  const closers: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const server = await startTbServer({ devices: [{ name: 'bench', token: 'bench-token' }] });
    closers.push(() => server.close());
    const proxy = await startFaultProxy({ targetPort: server.mqttPort, seed: 1 });
    closers.push(() => proxy.close());
    let requests = 0;
    let updatingAt = 0;
    let failed = '';
    server.onEvent((e) => {
      if (e.type !== 'uplink') return;
      if (e.topic.startsWith('v2/fw/request/')) requests++;
      else if (e.payload.includes('"fw_state":"UPDATING"')) updatingAt = performance.now();
      else if (e.payload.includes('"fw_state":"FAILED"')) failed = e.payload;
    });
    const credentials = { type: 'ACCESS_TOKEN' as const, token: 'bench-token' };
    let xs: XsDevice | undefined;
    if (engine === 'node') {
      const device = await startHostDevice(
        { config: { host: '127.0.0.1', port: proxy.port, credentials }, stateDir: join(dir, 'state'), engine: 'node', name: 'bench', verbose: false, telemetryMs: HOUR_MS, ota: { dir, chunkBytes } },
        quiet,
      );
      closers.push(() => device.close());
    } else {
      xs = await runXsDevice({
        host: '127.0.0.1',
        port: proxy.port,
        credentials,
        stateDir: join(dir, 'state'),
        appOptions: { version: '0.0.1', settings: { telemetryIntervalMs: HOUR_MS } },
        ota: { dir, chunkBytes, onRestart: () => undefined },
      });
      const device = xs;
      closers.push(() => device.close());
      if (sampleHeap) await installGcProbe(device);
    }
    // Connected and settled: the version report is in, the first telemetry sent.
    await waitFor(() => server.latestTelemetry('bench').current_fw_version !== undefined, 'the version report', 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const idleSlots = xs && sampleHeap ? await liveSlots(xs) : undefined;
    const up0 = proxy.counters.bytesToBroker;
    const down0 = proxy.counters.bytesToClient;
    const image = randomBytes(imageBytes);
    const started = performance.now();
    server.assignFirmware('bench', { title: 'bench', version: '9.0.0', data: image });
    let peakSlots = idleSlots;
    let samples = 0;
    const sampled: number[] = [];
    const deadline = Date.now() + 300_000;
    while (updatingAt === 0) {
      if (failed) throw new Error('the download failed: ' + failed);
      if (Date.now() > deadline) throw new Error('no UPDATING within 300 s (' + requests + ' chunk requests)');
      if (xs && sampleHeap) {
        const v = await liveSlots(xs);
        sampled.push(v - idleSlots!);
        peakSlots = Math.max(peakSlots!, v);
        samples++;
        await new Promise((r) => setImmediate(r));
      } else {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const bytesUp = proxy.counters.bytesToBroker - up0;
    const bytesDown = proxy.counters.bytesToClient - down0;
    return {
      engine,
      imageBytes,
      chunkBytes,
      ms: updatingAt - started,
      requests,
      bytesUp,
      bytesDown,
      overhead: (bytesUp + bytesDown) / imageBytes,
      ...(xs && sampleHeap ? { idleSlots, peakSlots, samples, medianSlots: median(sampled) } : {}),
    };
  } finally {
    for (const close of closers.reverse()) await close();
  }
}

export interface OtaBenchOptions {
  imageBytes: number;
  /** The second, smaller image for the XS heap growth line. */
  smallBytes: number;
  chunks: number[];
  engines: OtaEngine[];
  out: (line: string) => void;
}

export interface OtaBenchResult {
  runs: OtaRun[];
  /** XS: the median live slots above idle during the download, full image minus small image, at the middle chunk size. */
  heapGrowthSlots?: number;
}

export async function runOtaBench(o: OtaBenchOptions): Promise<OtaBenchResult> {
  const runs: OtaRun[] = [];
  for (const engine of o.engines) {
    for (const chunk of o.chunks) {
      const r = await runOtaDownload(engine, o.imageBytes, chunk);
      runs.push(r);
      const key = engine + '_' + chunk;
      o.out(`${key}_ms: ${r.ms.toFixed(0)}`);
      o.out(`${key}_kib_per_s: ${(r.imageBytes / 1024 / (r.ms / 1000)).toFixed(0)}`);
      o.out(`${key}_wire_bytes: ${r.bytesUp + r.bytesDown} (up ${r.bytesUp}, down ${r.bytesDown}, ${r.requests} chunk requests)`);
      o.out(`${key}_overhead_ratio: ${r.overhead.toFixed(4)}`);
    }
  }
  o.out('# overhead_ratio: bytes through the proxy both ways during the download (chunk requests and answers, PUBACKs, state reports, keepalive) / image bytes');
  if (!o.engines.includes('xs')) return { runs };
  // The heap runs apart from the timed ones: a forced GC per sample slows the download.
  const line = (r: OtaRun) => `idle ${r.idleSlots}, download median +${r.medianSlots}, peak ${r.peakSlots} (+${r.peakSlots! - r.idleSlots!}; ${r.samples} samples)`;
  const sampled: OtaRun[] = [];
  for (const chunk of o.chunks) {
    const r = await runOtaDownload('xs', o.imageBytes, chunk, true);
    sampled.push(r);
    o.out(`xs_${chunk}_heap_slots: ${line(r)}`);
  }
  const chunk = o.chunks[Math.floor(o.chunks.length / 2)]!;
  const small = await runOtaDownload('xs', o.smallBytes, chunk, true);
  o.out(`xs_${chunk}_small_heap_slots: ${o.smallBytes} bytes: ${line(small)}`);
  const heapGrowthSlots = sampled.find((r) => r.chunkBytes === chunk)!.medianSlots! - small.medianSlots!;
  o.out(`xs_heap_peak_above_idle_slots: ${Math.max(...sampled.map((r) => r.peakSlots! - r.idleSlots!))}`);
  o.out(`xs_heap_growth_slots: ${heapGrowthSlots}`);
  o.out(`# xs heap: live slots after a forced GC, sampled back to back during the download (about one sample per chunk); the chunk bytes are an ArrayBuffer (XS chunk heap, not slots). The median is the chunk loop; the peak is one sample in the state reports at the end (DOWNLOADED, VERIFIED, UPDATING in flight), so it varies with where a sample lands. xs_heap_growth_slots: the median for ${o.imageBytes} bytes minus the median for ${o.smallBytes} bytes at chunk ${chunk}`);
  return { runs: [...runs, ...sampled, small], heapGrowthSlots };
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

if (process.argv[1] && /ota-bench\.ts$/.test(process.argv[1])) {
  await runOtaBench({
    imageBytes: Number(flag('bytes', '1048576')),
    smallBytes: Number(flag('small', '262144')),
    chunks: flag('chunks', '512,1024,4096').split(',').map(Number),
    engines: flag('engines', 'node,xs').split(',') as OtaEngine[],
    out: (line) => console.log(line),
  });
}
