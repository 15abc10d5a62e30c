/**
 * Smoke test of the MQTT benchmark (test/bench/mqtt-bench.ts): its core runs end to end against a
 * real Mosquitto with a few hundred messages and yields sane figures. No timing assertions: the
 * benchmark prints figures, it does not judge them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePayloads, runMqttBench, TOPIC, type ClientFigures } from '../bench/mqtt-bench';
import { startMosquitto, type MosquittoHandle } from '../support/mosquitto';

let broker: MosquittoHandle;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker?.stop();
});

function checkClient(f: ClientFigures, messages: number, paced: number, rounds: number): void {
  expect(f.rounds.throughput).toHaveLength(rounds);
  expect(f.rounds.paced).toHaveLength(rounds);
  for (const r of f.rounds.throughput) {
    expect(r).toMatchObject({ messages, acked: messages, errors: 0 });
    expect(r.msgsPerS).toBeGreaterThan(0);
    expect(Number.isFinite(r.msgsPerS)).toBe(true);
    expect(r.ackP50Ms).toBeGreaterThan(0);
    expect(r.ackP99Ms).toBeGreaterThanOrEqual(r.ackP50Ms);
  }
  for (const r of f.rounds.paced) {
    expect(r).toMatchObject({ messages: paced, acked: paced, errors: 0 });
    expect(r.ackP50Ms).toBeGreaterThan(0);
    expect(r.ackP99Ms).toBeGreaterThanOrEqual(r.ackP50Ms);
  }
  expect(f.throughput.msgsPerS).toBeGreaterThan(0);
  expect(f.latency).toMatchObject({ acked: paced * rounds, messages: paced * rounds });
  expect(f.latency.ackP50Ms).toBeGreaterThan(0);
  expect(f.latency.ackP99Ms).toBeGreaterThanOrEqual(f.latency.ackP50Ms);
}

describe('MQTT benchmark core', () => {
  it('payloads are same-length ThingsBoard telemetry JSON', () => {
    const payloads = makePayloads(300);
    const lengths = new Set(payloads.map((p) => p.length));
    expect(lengths.size).toBe(1);
    const first = JSON.parse(payloads[0]);
    expect(Object.keys(first)).toEqual(['temperature', 'humidity', 'ts']);
    expect(TOPIC).toBe('v1/devices/me/telemetry');
  });

  it('runs both clients with every message acknowledged and positive figures', async () => {
    const lines: string[] = [];
    const result = await runMqttBench({
      host: broker.host,
      port: broker.port,
      messages: 300,
      window: 16,
      rounds: 2,
      warmup: 50,
      paced: 100,
      rate: 1000,
      log: (l) => lines.push(l),
    });
    checkClient(result.tbxs, 300, 100, 2);
    checkClient(result.mqttjs, 300, 100, 2);
    expect(result.ratio).toBeGreaterThan(0);
    expect(Number.isFinite(result.ratio)).toBe(true);
    expect(result.packetBytes).toBe(2 + 2 + TOPIC.length + 2 + result.payloadBytes);
    // warm-up (2) + 2 rounds x 2 clients x (throughput + paced)
    expect(lines).toHaveLength(2 + 8);
  });
});
