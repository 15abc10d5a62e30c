/**
 * Smoke test of the gateway benchmark (test/bench/gateway-bench.ts): its core runs end to end
 * against its own local server with small counts and yields sane figures. No timing assertions:
 * the benchmark prints figures, it does not judge them.
 */
import { describe, expect, it } from 'vitest';
import { runGatewayBench, type RunFigures } from '../bench/gateway-bench';

function sane(f: RunFigures, devices: number, rounds: number, messages: number): void {
  expect(f).toMatchObject({ devices, rounds, readings: devices * rounds, messages, verified: true });
  expect(f.elapsedMs).toBeGreaterThan(0);
  expect(Number.isFinite(f.readingsPerS) && f.readingsPerS > 0).toBe(true);
  expect(f.msgsPerS).toBeCloseTo((f.readingsPerS * messages) / (devices * rounds), 6);
}

describe('gateway benchmark core', () => {
  it('runs gateway and direct connections for each count, every reading verified on the server', async () => {
    const lines: string[] = [];
    const result = await runGatewayBench({ counts: [1, 5], readings: 100, window: 4, warmupRounds: 2, log: (l) => lines.push(l) });
    expect(result.counts.map((c) => c.devices)).toEqual([1, 5]);
    const [one, five] = result.counts;
    sane(one.gateway, 1, 100, 100);
    sane(one.direct, 1, 100, 100);
    sane(five.gateway, 5, 20, 20);
    sane(five.direct, 5, 20, 100);
    for (const c of result.counts) expect(c.ratio).toBeCloseTo(c.gateway.readingsPerS / c.direct.readingsPerS, 6);
    expect(result.gatewayMessageBytes).toBeGreaterThan(5 * 20);
    expect(lines).toHaveLength(4);
  });
});
