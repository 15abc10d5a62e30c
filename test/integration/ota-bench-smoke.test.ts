/**
 * Smoke test of the OTA benchmark (test/bench/ota-bench.ts) with small images: every download
 * completes on both engines with one chunk request per chunk, the wire overhead is what the
 * framing costs, and the XS heap during a download does not grow with the image (the median of the
 * samples; a leak of one slot per chunk would move it by about 100 slots here). No timing assertions.
 */
import { describe, expect, it } from 'vitest';
import { runOtaBench } from '../bench/ota-bench';

describe('OTA benchmark core', () => {
  it('downloads on both engines, counts the wire bytes and the XS heap, and the heap does not grow with the image', async () => {
    const lines: string[] = [];
    const result = await runOtaBench({ imageBytes: 256 * 1024, smallBytes: 64 * 1024, chunks: [1024], engines: ['node', 'xs'], out: (l) => lines.push(l) });
    const [node, xs, xsSampled, xsSmall] = result.runs;
    for (const r of [node, xs, xsSampled]) {
      expect(r).toMatchObject({ imageBytes: 256 * 1024, chunkBytes: 1024, requests: 256 });
      expect(r.ms).toBeGreaterThan(0);
      // The image itself, plus per chunk a request (~35 bytes), its PUBACK and the answer's header.
      expect(r.bytesDown).toBeGreaterThan(r.imageBytes);
      expect(r.overhead).toBeGreaterThan(1.02);
      expect(r.overhead).toBeLessThan(1.15);
    }
    expect(xsSmall).toMatchObject({ imageBytes: 64 * 1024, requests: 64 });
    expect(xsSampled.samples).toBeGreaterThan(10);
    expect(xsSampled.medianSlots).toBeGreaterThan(0);
    expect(xsSampled.peakSlots! - xsSampled.idleSlots!).toBeGreaterThanOrEqual(xsSampled.medianSlots!);
    expect(Math.abs(result.heapGrowthSlots!)).toBeLessThanOrEqual(16);
    expect(lines).toContain('xs_heap_growth_slots: ' + result.heapGrowthSlots);
    expect(lines.filter((l) => /_overhead_ratio: /.test(l))).toHaveLength(2);
  }, 60_000);
});
