/**
 * 20,000 fuzz cases (issue 6): mutated and random broker -> client byte streams in random chunk
 * sizes; after each the session still works or has closed and reconnected, never throws, hangs or
 * holds more than its caps. See test/fuzz/fuzz.ts.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../fuzz/fuzz';

describe('MQTT session fuzzing', () => {
  it('20,000 cases: no failures, both outcomes exercised', async () => {
    const r = await runFuzz({ cases: 20_000, seed: 6 });
    console.log(`cases: ${r.cases}\nclosed: ${r.closed}\nalive: ${r.alive}\nfailures: ${r.failures}\nms: ${r.ms}`);
    expect(r.failureSamples).toEqual([]);
    expect(r.failures).toBe(0);
    expect(r.cases).toBe(20_000);
    expect(r.closed + r.alive).toBe(20_000);
    expect(r.alive).toBeGreaterThan(1000);
    expect(r.closed).toBeGreaterThan(1000);
    for (const code of ['malformed', 'protocol', 'packet-too-large', 'keepalive-timeout', 'connack-refused']) {
      expect(r.errorCodes[code] ?? 0).toBeGreaterThan(0);
    }
  }, 30_000);
});
