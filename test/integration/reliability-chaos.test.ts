/**
 * Short chaos run (issue 6): 50 random faults against Mosquitto (kill -9 and restart included) and
 * 50 against the local ThingsBoard-compatible server, side by side, while QoS 1 telemetry flows.
 * Nothing acknowledged may be lost. See test/chaos/chaos.ts for what each figure means.
 */
import { describe, expect, it } from 'vitest';
import { formatChaos, runChaos } from '../chaos/chaos';

describe('chaos run', () => {
  it('50 faults per target: lost 0, every publish answered exactly once, stores within caps', async () => {
    const r = await runChaos({ faults: 50, target: 'both', seed: 6, maxFaultMs: 400 });
    console.log(formatChaos(r).join('\n'));
    expect(r.targets.map((t) => t.problems)).toEqual([[], []]);
    expect(r.lost).toBe(0);
    expect(r.published).toBeGreaterThan(2000);
    expect(r.acknowledged).toBeGreaterThan(r.published / 2);
    expect(r.acknowledged + r.rejected).toBe(r.published);
    expect(r.received).toBeGreaterThanOrEqual(r.acknowledged);
    for (const t of r.targets) {
      expect(t.unsettled).toBe(0);
      expect(t.doubleCallbacks).toBe(0);
      expect(t.reconnects).toBeGreaterThan(10);
      expect(t.peakStats.queued).toBeLessThanOrEqual(200);
      expect(t.peakStats.inflight).toBeLessThanOrEqual(16);
    }
    // Backoff caps at 500 ms; a CONNACK over loopback takes a few ms more.
    expect(r.max_reconnect_ms).toBeLessThanOrEqual(1500);
  }, 60_000);
});
