/**
 * A short run of the local server's MQTT fuzz (test/fuzz/server-fuzz.ts; `npm run fuzz:server`
 * for a long one): mutated client streams at levels 3, 4 and 5 never crash the server, never
 * leave a session behind, and a good device can always connect after them.
 */
import { describe, expect, it } from 'vitest';
import { runServerFuzz } from '../fuzz/server-fuzz';

describe('local server MQTT fuzzing', () => {
  it('400 mutated client streams: the server stays whole', async () => {
    const r = await runServerFuzz({ cases: 400, seed: 15 });
    expect(r.failureSamples).toEqual([]);
    expect(r.failures).toBe(0);
    expect(r.cases).toBe(400);
    // Both paths are exercised: accepted sessions and connections the server closed.
    expect(r.accepted).toBeGreaterThan(50);
    expect(r.closedByServer).toBeGreaterThan(100);
  }, 30_000);
});
