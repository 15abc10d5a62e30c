import { describe, expect, it } from 'vitest';
import { openI2cSensor } from '../../hal/drivers';
import { parseBoolean, parsePinNumber } from '../../src/app/coerce';
import { Debouncer } from '../../src/app/debouncer';
import { SETTING_NAMES, checkSetting } from '../../src/app/settings';
import { AppSettings, SETTINGS_STORE_KEY } from '../../src/app/settings-store';
import { silentLog, type Log } from '../../src/platform/log';
import { MemoryStore, type JsonValue } from '../../src/platform/store';
import type { TbDevice } from '../../src/thingsboard/tb-device';
import type { TimedValues } from '../../src/thingsboard/telemetry';
import { createSimulatedFirmware, createSimulatedIo, simulatedBoard } from '../../targets/host/simulated-board';
import { FakeClock } from '../support/fake-clock';
import { mulberry32 as seeded } from '../support/random';

function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => void lines.push(level + ' ' + message);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

describe('app coercion', () => {
  it('reads booleans as dashboards send them', () => {
    const yes: JsonValue[] = [true, 1, 'true', 'TRUE', ' 1 ', 'on'];
    const no: JsonValue[] = [false, 0, 'false', '0', 'Off'];
    const neither: JsonValue[] = [2, -1, 'yes', '', null, [], {}];
    expect(yes.map(parseBoolean)).toEqual(yes.map(() => true));
    expect(no.map(parseBoolean)).toEqual(no.map(() => false));
    expect(neither.map(parseBoolean)).toEqual(neither.map(() => undefined));
  });

  it('reads pin numbers from numbers and digit strings only', () => {
    expect([2, '2', ' 25 ', 0].map(parsePinNumber)).toEqual([2, 2, 25, 0]);
    expect([-1, 2.5, '2a', '', 'led', null, '1234'].map(parsePinNumber)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('app settings', () => {
  it('checks every setting by its rule', () => {
    expect(SETTING_NAMES).toEqual(['telemetryIntervalMs', 'telemetryEnabled']);
    expect(checkSetting('telemetryIntervalMs', 500)).toBe(500);
    expect(checkSetting('telemetryIntervalMs', 86_400_000)).toBe(86_400_000);
    expect(checkSetting('telemetryIntervalMs', 499)).toBeInstanceOf(Error);
    expect(checkSetting('telemetryIntervalMs', '1000')).toBeInstanceOf(Error);
    expect(checkSetting('telemetryEnabled', false)).toBe(false);
    expect(checkSetting('telemetryEnabled', 0)).toBeInstanceOf(Error);
  });

  it('stores only what the server set, under one short key', () => {
    const store = new MemoryStore();
    const settings = new AppSettings({ store, log: silentLog });
    expect(SETTINGS_STORE_KEY.length).toBeLessThanOrEqual(15);
    expect(settings.update({ other: 1 }, 'test')).toEqual([]);
    expect(store.get(SETTINGS_STORE_KEY)).toBeUndefined();
    // Setting the default explicitly changes nothing now but is remembered.
    expect(settings.update({ telemetryIntervalMs: 5000 }, 'test')).toEqual([]);
    expect(store.get(SETTINGS_STORE_KEY)).toEqual({ telemetryIntervalMs: 5000 });
    expect(settings.update({ telemetryEnabled: false }, 'test')).toEqual(['telemetryEnabled']);
    expect(store.get(SETTINGS_STORE_KEY)).toEqual({ telemetryIntervalMs: 5000, telemetryEnabled: false });
    expect(settings.revert(['telemetryEnabled', 'unknown'], 'test')).toEqual(['telemetryEnabled']);
    expect(store.get(SETTINGS_STORE_KEY)).toEqual({ telemetryIntervalMs: 5000 });
  });

  it('keeps working when the store refuses to write', () => {
    const log = recordingLog();
    const store = new MemoryStore();
    store.set = () => {
      throw new Error('flash full');
    };
    const settings = new AppSettings({ store, log });
    expect(settings.update({ telemetryIntervalMs: 1000 }, 'test')).toEqual(['telemetryIntervalMs']);
    expect(settings.get('telemetryIntervalMs')).toBe(1000);
    expect(log.lines.some((l) => l.includes('flash full'))).toBe(true);
  });
});

describe('app debouncer', () => {
  it('settles once after the contact has been quiet for the window', () => {
    const clock = new FakeClock();
    let settled = 0;
    const debouncer = new Debouncer(clock, 20, () => settled++);
    for (let i = 0; i < 5; i++) {
      debouncer.edge();
      clock.advance(19);
    }
    expect(settled).toBe(0);
    clock.advance(1);
    expect(settled).toBe(1);
    debouncer.edge();
    debouncer.cancel();
    expect(clock.pending()).toBe(0);
  });

  it('settles at once with a zero window', () => {
    const clock = new FakeClock();
    let settled = 0;
    new Debouncer(clock, 0, () => settled++).edge();
    expect(settled).toBe(1);
    expect(clock.pending()).toBe(0);
  });
});

describe('simulated board', () => {
  it('names led, button, relay1, relay2, an SHT3x at 0x44 and a BME280 at 0x76 on one bus, and a battery input', () => {
    expect(Object.keys(simulatedBoard.pins)).toEqual(['led', 'button', 'relay1', 'relay2']);
    const sensors = simulatedBoard.sensors ?? {};
    expect(Object.values(sensors).map((s) => [s.kind, s.address])).toEqual([
      ['sht3x', 0x44],
      ['bme280', 0x76],
    ]);
    expect(new Set(Object.values(sensors).map((s) => JSON.stringify(s.bus))).size).toBe(1);
    expect(simulatedBoard.analog?.battery_v.unit).toBe('V');
  });

  it('drifts within plausible bounds over simulated weeks, driven by the clock only', () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const io = createSimulatedIo(clock, silentLog, { random: seeded(1) });
    const env = io.environment;
    const seen = { temperature: [] as number[], humidity: [] as number[], pressure: [] as number[], battery: [] as number[] };
    const first = env.get('temperature');
    env.update();
    expect(env.get('temperature')).toBe(first); // no time passed, no change
    for (let i = 0; i < 14 * 24 * 4; i++) {
      clock.advance(15 * 60_000);
      env.update();
      for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k].push(env.get(k));
    }
    const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)];
    const [tMin, tMax] = range(seen.temperature);
    expect(tMin).toBeGreaterThanOrEqual(5);
    expect(tMax).toBeLessThanOrEqual(40);
    expect(tMax - tMin).toBeGreaterThan(2); // it does move
    const [hMin, hMax] = range(seen.humidity);
    expect(hMin).toBeGreaterThanOrEqual(15);
    expect(hMax).toBeLessThanOrEqual(85);
    const [pMin, pMax] = range(seen.pressure);
    expect(pMin).toBeGreaterThanOrEqual(970);
    expect(pMax).toBeLessThanOrEqual(1045);
    const [bMin, bMax] = range(seen.battery);
    expect(bMin).toBeGreaterThanOrEqual(3.4);
    expect(bMax).toBeLessThanOrEqual(4.2);
    // Slow: 15 minutes never move the temperature by more than a few degrees.
    for (let i = 1; i < seen.temperature.length; i++) expect(Math.abs(seen.temperature[i] - seen.temperature[i - 1])).toBeLessThan(3);
    expect(clock.pending()).toBe(0);
  });

  it('its chips report the environment through the real drivers', () => {
    const clock = new FakeClock();
    const io = createSimulatedIo(clock, silentLog, { random: seeded(2) });
    const sht = openI2cSensor(io, simulatedBoard.sensors!.climate);
    sht.start();
    clock.advance(sht.conversionMs);
    const reading = sht.read();
    expect(reading.temperature).toBeCloseTo(io.environment.get('temperature'), 1);
    expect(reading.humidity).toBeCloseTo(io.environment.get('humidity'), 1);
    sht.close();
  });

  it('logs output changes by pin name in logical terms', () => {
    const log = recordingLog();
    const io = createSimulatedIo(new FakeClock(), log);
    const relay = io.openDigitalOutput({ pin: 25, initial: 1 });
    relay.write(0);
    relay.write(0);
    relay.write(1);
    relay.close();
    expect(log.lines).toEqual(['info relay1 -> on (GPIO 25 low)', 'info relay1 -> off (GPIO 25 high)']);
  });

  it('createSimulatedFirmware runs the firmware with plausible telemetry and closes cleanly', () => {
    const clock = new FakeClock();
    const sent: TimedValues[] = [];
    const handlers = new Map<string, (params: JsonValue) => unknown>();
    const device: TbDevice = {
      connected: true,
      sendTelemetry: (data) => (sent.push(data as TimedValues), Promise.resolve()),
      sendAttributes: () => Promise.resolve(),
      requestAttributes: () => Promise.resolve({ client: {}, shared: {} }),
      onSharedAttributes: () => () => {},
      onRpc: (method, handler) => (handlers.set(method, handler as (params: JsonValue) => unknown), () => handlers.delete(method)),
      claim: () => Promise.resolve(),
    };
    const log = recordingLog();
    const sim = createSimulatedFirmware({ device, clock, store: new MemoryStore(), log, name: 'tbxs-sim', random: seeded(3) });
    sim.firmware.start();
    clock.advance(60_000);
    expect(sent.length).toBe(12);
    const last = sent[sent.length - 1].values as Record<string, number>;
    expect(last.climate_temperature).toBeGreaterThan(5);
    expect(last.climate_temperature).toBeLessThan(40);
    expect(Math.abs(last.ambient_temperature - last.climate_temperature)).toBeLessThan(1);
    expect(last.ambient_pressure).toBeGreaterThan(970);
    expect(last.battery_v).toBeGreaterThan(3.3);
    expect(last.battery_v).toBeLessThan(4.3);
    expect(handlers.get('toggle_gpio')!({ pin: 'led' })).toEqual({ led: true });
    expect(log.lines).toContain('info led -> on (GPIO 2 high)');
    sim.close();
    expect(clock.pending()).toBe(0);
    expect(sim.io.openPins()).toEqual([]);
    expect(handlers.size).toBe(0);
  });
});
