/**
 * Store-and-forward across a reset, on both engines: the device (`tbxs device --persist-outbox`)
 * runs, the server goes down, readings pile up in the state directory, the device is killed
 * (SIGKILL to its process group: the XS worker dies with it, as a board reset would), started
 * again while the server is still down, then the server comes back. Every reading that was in
 * the Store at the kill reaches the server, in order, with its original ts; one that arrives
 * twice had reached the server before it went down (its PUBACK was lost then), never otherwise.
 * The history REST query shows them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import type { TbEvent } from '../../targets/host/tb-server/types';
import { waitFor } from '../support/wait';

const BIN = join(__dirname, '../../bin/tbxs.mjs');
const children: ChildProcess[] = [];
let server: TbServer | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) killGroup(c);
  await server?.close();
  server = undefined;
});

function killGroup(c: ChildProcess): void {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** The ts of every telemetry reading in an uplink payload (an object with ts, or an array of them). */
function readingTimes(payload: string): number[] {
  const body = JSON.parse(payload) as unknown;
  const list = Array.isArray(body) ? body : [body];
  return list.filter((e) => e && typeof e === 'object' && typeof (e as { ts?: unknown }).ts === 'number').map((e) => (e as { ts: number }).ts);
}

/** The ts of every reading the outbox holds in the state directory's store.json. */
function storedTimes(stateDir: string): number[] {
  let values: Record<string, { q?: number; r?: [number, object][] }>;
  try {
    values = JSON.parse(readFileSync(join(stateDir, 'store.json'), 'utf8'));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const key of Object.keys(values)) if (/^ob\d+$/.test(key)) for (const r of values[key].r ?? []) out.push(r[0]);
  return out.sort((a, b) => a - b);
}

/** A telemetry key of the kept readings. */
function stateKey(stateDir: string): string | undefined {
  try {
    const values = JSON.parse(readFileSync(join(stateDir, 'store.json'), 'utf8')) as Record<string, { r?: [number, Record<string, unknown>][] }>;
    for (const k of Object.keys(values)) if (/^ob\d+$/.test(k) && values[k].r?.length) return Object.keys(values[k].r![0][1])[0];
  } catch {
    return undefined;
  }
  return undefined;
}

describe('store-and-forward across a reset', () => {
  for (const engine of ['node', 'xs'] as const) {
    it(`${engine} engine: every reading kept before a SIGKILL reaches the server after the restart, none lost`, async () => {
      server = await startTbServer({ devices: [{ name: 'keeper', token: 'KEEPER' }] });
      const events: { at: number; e: TbEvent }[] = [];
      server.onEvent((e) => void events.push({ at: Date.now(), e }));
      const state = mkdtempSync(join(tmpdir(), 'tbxs-outbox-'));
      const args = ['device', '--engine', engine, '--host', '127.0.0.1', '--port', String(server.mqttPort), '--token', 'KEEPER', '--state-dir', state];
      args.push('--telemetry-ms', '500', '--persist-outbox', '--outbox-write-ms', '300', '--reconnect-min-ms', '100', '--reconnect-max-ms', '300');
      let out = '';
      const start = () => {
        const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        children.push(child);
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (out += d));
        return child;
      };
      const uplinkTimes = (before = Infinity) =>
        events.filter((x) => x.at < before && x.e.type === 'uplink' && x.e.device === 'keeper' && x.e.topic === 'v1/devices/me/telemetry').flatMap((x) => readingTimes((x.e as { payload: string }).payload));
      try {
        const first = start();
        await waitFor(() => uplinkTimes().length >= 3, 'telemetry from the device', 20_000);
        await server.stopMqtt();
        const downAt = Date.now();
        // Offline: readings every 500 ms, each written within 300 ms after it was taken.
        await waitFor(() => storedTimes(state).length >= 6, 'readings kept in the store', 15_000);
        const kept = storedTimes(state);
        const key = stateKey(state) as string;
        expect(key).toBeDefined();
        killGroup(first);
        await waitFor(() => first.exitCode !== null || first.signalCode !== null, 'the device to die', 5000);
        const reachedBefore = new Set(uplinkTimes(downAt));

        const second = start();
        await waitFor(() => /outbox: \d+ readings from before the restart/.test(out), 'the restarted device to find them', 20_000);
        await new Promise((r) => setTimeout(r, 500));
        await server.startMqtt();
        await waitFor(() => kept.every((ts) => uplinkTimes().includes(ts)), 'every kept reading at the server', 20_000);

        const all = uplinkTimes();
        for (const ts of kept) {
          const n = all.filter((t) => t === ts).length;
          if (n > 1) expect(reachedBefore.has(ts), 'ts ' + ts + ' arrived ' + n + ' times').toBe(true);
        }
        // In order: the kept readings arrive after the restart oldest first, before any newer one.
        const after = uplinkTimes().filter((ts) => !reachedBefore.has(ts));
        const firstNew = after.findIndex((ts) => ts > kept[kept.length - 1]);
        const replayed = firstNew < 0 ? after : after.slice(0, firstNew);
        expect(replayed).toEqual([...replayed].sort((a, b) => a - b));
        expect(new Set(replayed)).toEqual(new Set(kept.filter((ts) => !reachedBefore.has(ts))));

        // ThingsBoard's history query shows them with their own ts.
        const id = server.registry.get('keeper')!.id;
        const url = `${server.httpUrl}/api/plugins/telemetry/DEVICE/${id}/values/timeseries?keys=${key}&startTs=${kept[0]}&endTs=${kept[kept.length - 1] + 1}&limit=1000&orderBy=ASC`;
        const history = (await (await fetch(url)).json()) as Record<string, { ts: number; value: string }[]>;
        expect(history[key].map((e) => e.ts)).toEqual(kept);
        killGroup(second);
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    }, 90_000);
  }
});
