/**
 * The sampler's conversion wait against a timer that fires early: on a host under load (and on an
 * ESP32, whose timer and the chip's oscillator disagree) a timer set for the wait can run before
 * the chip's clock got there. The drivers wait past the datasheet maximum, and the sampler reads a
 * sensor that says 'busy' once more before it reports an error.
 */
import { describe, expect, it } from 'vitest';
import { Sampler, type TelemetryValues } from '../../src/app/sampler';
import type { Clock, TimerHandle } from '../../src/platform/clock';
import type { Log } from '../../src/platform/log';
import { createSimulatedIo, simulatedBoard } from '../../targets/host/simulated-board';
import { FakeClock } from '../support/fake-clock';
import { mulberry32 as seeded } from '../support/random';

/** The sampler's clock: the chips' time, but every timer fires `earlyMs` before it is due. */
class EarlyClock implements Clock {
  constructor(
    private readonly chip: FakeClock,
    private readonly earlyMs: number,
  ) {}
  now(): number {
    return this.chip.now();
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.chip.setTimeout(callback, Math.max(0, ms - this.earlyMs));
  }
  clearTimeout(handle: TimerHandle): void {
    this.chip.clearTimeout(handle);
  }
}

function run(earlyMs: number) {
  const chip = new FakeClock();
  const lines: string[] = [];
  const log: Log = { debug: () => {}, info: () => {}, warn: (m) => void lines.push('warn ' + m), error: (m) => void lines.push('error ' + m) };
  const io = createSimulatedIo(chip, log, { random: seeded(3) });
  const published: TelemetryValues[] = [];
  const sampler = new Sampler({ io, board: simulatedBoard, clock: new EarlyClock(chip, earlyMs), log, publish: (_ts, values) => void published.push(values) });
  sampler.open();
  sampler.run(1000);
  chip.advance(3500); // four cycles: at 0, 1000, 2000, 3000 (each timer early)
  sampler.close();
  return { published, lines };
}

const KEYS = ['climate_temperature', 'climate_humidity', 'ambient_temperature', 'ambient_humidity', 'ambient_pressure', 'battery_v'];

describe('Sampler conversion wait', () => {
  it('on time: every sensor read at the first try', () => {
    const { published, lines } = run(0);
    expect(published).toHaveLength(4);
    for (const values of published) expect(Object.keys(values).sort()).toEqual([...KEYS].sort());
    expect(lines).toEqual([]);
  });

  it('a timer 3 ms early still finds the SHT3x done: the drivers wait past the datasheet maximum', () => {
    const { published, lines } = run(3);
    expect(published).toHaveLength(4);
    for (const values of published) expect(Object.keys(values).sort()).toEqual([...KEYS].sort());
    expect(lines).toEqual([]);
  });

  it('a timer 8 ms early finds it busy: read once more, one message with every value, nothing logged', () => {
    const { published, lines } = run(8);
    expect(published).toHaveLength(4);
    for (const values of published) {
      expect(Object.keys(values).sort()).toEqual([...KEYS].sort());
      expect(Object.keys(values).some((k) => k.endsWith('_error'))).toBe(false);
    }
    expect(lines).toEqual([]);
  });

  it('busy again after the retry: the sensor reports its error, the others their values', () => {
    const { published, lines } = run(19); // the wait fires at once, and so does the retry
    expect(published).toHaveLength(4);
    for (const values of published) {
      expect(values.climate_error).toMatch(/^busy: SHT3x at .*no answer to the result read/);
      expect(values.ambient_error).toMatch(/^busy: BME280 at .*still measuring/);
      expect(values.battery_v).toEqual(expect.any(Number));
      expect(values).not.toHaveProperty('climate_temperature');
    }
    expect(lines.filter((l) => /sensor climate/.test(l))).toHaveLength(4);
  });
});
