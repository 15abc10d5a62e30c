/**
 * bench:xs in miniature (few cycles): the harness runs on XS, the firmware and the floor write the
 * same bytes, and the figures are sane. Not a performance check.
 */
import { describe, expect, it } from 'vitest';
import { runXsBench, XS_BUDGETS } from '../bench/xs-bench';
import { xsnapWorkerPath } from '../../targets/xsnap/worker';

describe('bench:xs smoke', () => {
  it('prints every figure with plausible values', async () => {
    xsnapWorkerPath(); // fails (never skips) without the binary: "run `npm rebuild @agoric/xsnap`"
    const lines: string[] = [];
    const f = await runXsBench({ cycles: 20, growthCycles: 50, repeats: 1, pieces: false, stackSearch: false, out: (l) => lines.push(l) });
    for (const name of ['bundle_bytes', 'stack_limit_slots', 'load_computrons', 'load_heap_slots', 'esp32_load_heap_slots', 'load_heap_slots_preloaded', 'run_heap_slots', 'publish_computrons', 'floor_computrons', 'publish_ratio', 'rpc_computrons', 'rpc_floor_computrons', 'rpc_ratio', 'heap_growth_slots']) {
      expect(lines.some((l) => l.startsWith(name + ': ')), name).toBe(true);
      expect(Number.isFinite(f[name]), name).toBe(true);
    }
    expect(f.bundle_bytes).toBeGreaterThan(10_000);
    expect(f.load_computrons).toBeGreaterThan(1000);
    // Preloaded, the ESP32 bundle is in flash but for the objects it leaves writable: none.
    expect(f.esp32_load_heap_slots).toBeGreaterThan(5000);
    expect(f.load_heap_slots_preloaded).toBe(0);
    expect(f.publish_computrons).toBeGreaterThan(f.floor_encoder_computrons);
    expect(f.floor_computrons).toBeGreaterThan(0);
    expect(f.publish_ratio).toBeGreaterThan(1);
    expect(f.publish_ratio).toBeLessThan(20);
    // The RPC path parses, acknowledges, dispatches and replies: more than its floor, not wildly.
    expect(f.rpc_floor_computrons).toBeGreaterThan(100);
    expect(f.rpc_ratio).toBeGreaterThan(1);
    expect(f.rpc_ratio).toBeLessThan(40);
    expect(Math.abs(f.heap_growth_beyond_control_slots)).toBeLessThan(200);
    // The size budgets (XS_BUDGETS, deterministic: slot and byte counts, not timings). The
    // running firmware's own state (about 1,570 slots, its simulated chips and the loopback broker
    // included) must leave most of Moddable's default ESP32 heap (4,928 slots) to the runtime,
    // TLS and the network stack.
    expect(f.run_heap_slots).toBeGreaterThan(100);
    expect(f.run_heap_slots).toBeLessThanOrEqual(XS_BUDGETS.run_heap_slots);
    expect(f.bundle_bytes).toBeLessThanOrEqual(XS_BUDGETS.bundle_bytes);
  }, 60_000);
});
