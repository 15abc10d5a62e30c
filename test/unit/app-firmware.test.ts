import { afterEach, describe, expect, it } from 'vitest';
import { Bme280Model, MockIo, Sht3xModel } from '../../hal/mock';
import type { BoardDescription } from '../../hal/types';
import { Firmware, type FirmwareOptions } from '../../src/app/firmware';
import { SETTINGS_STORE_KEY } from '../../src/app/settings-store';
import type { Log } from '../../src/platform/log';
import { MemoryStore, type JsonValue, type Store } from '../../src/platform/store';
import type { JsonObject } from '../../src/thingsboard/json';
import type { RpcHandler } from '../../src/thingsboard/rpc-registry';
import type { SharedAttributesListener } from '../../src/thingsboard/shared-attributes';
import type { AttributeRequest, AttributesResponse, TbDevice } from '../../src/thingsboard/tb-device';
import type { TelemetryInput, TimedValues } from '../../src/thingsboard/telemetry';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';

/** A TbDevice that records what the firmware sends and lets the test play the server. */
class FakeDevice implements TbDevice {
  connected = true;
  readonly telemetry: TelemetryInput[] = [];
  readonly attributes: JsonObject[] = [];
  readonly requests: { request: AttributeRequest | undefined; timeoutMs: number | undefined }[] = [];
  readonly handlers = new Map<string, RpcHandler>();
  readonly sharedListeners: SharedAttributesListener[] = [];
  /** The server's shared attributes: pushShared() changes them, attribute requests answer from them. */
  readonly shared: { [key: string]: JsonValue } = {};
  /** What the next attribute request resolves (or rejects) with; by default the requested keys of `shared`. */
  attributeResponse: (request: AttributeRequest | undefined) => Promise<AttributesResponse> = (request) => {
    const shared: JsonObject = {};
    for (const key of request?.sharedKeys ?? []) if (key in this.shared) shared[key] = this.shared[key];
    return Promise.resolve({ client: {}, shared });
  };
  failSends: Error | undefined;

  sendTelemetry(data: TelemetryInput): Promise<void> {
    this.telemetry.push(data);
    return this.failSends ? Promise.reject(this.failSends) : Promise.resolve();
  }
  sendAttributes(attributes: JsonObject): Promise<void> {
    this.attributes.push(attributes);
    return this.failSends ? Promise.reject(this.failSends) : Promise.resolve();
  }
  requestAttributes(request?: AttributeRequest, timeoutMs?: number): Promise<AttributesResponse> {
    this.requests.push({ request, timeoutMs });
    return this.attributeResponse(request);
  }
  onSharedAttributes(listener: SharedAttributesListener): () => void {
    this.sharedListeners.push(listener);
    return () => {
      const i = this.sharedListeners.indexOf(listener);
      if (i >= 0) this.sharedListeners.splice(i, 1);
    };
  }
  onRpc(method: string, handler: RpcHandler): () => void {
    this.handlers.set(method, handler);
    return () => {
      if (this.handlers.get(method) === handler) this.handlers.delete(method);
    };
  }
  claim(): Promise<void> {
    return Promise.resolve();
  }

  /** Calls a registered RPC method like the DeviceClient does: a throw becomes {"error": ...}. */
  rpc(method: string, params: JsonValue = null): JsonValue {
    const handler = this.handlers.get(method);
    if (!handler) return { error: 'unknown method: ' + method };
    try {
      const reply = handler(params, { method, params, id: 1 });
      return reply === undefined ? {} : (reply as JsonValue);
    } catch (error) {
      return { error: method + ' failed: ' + (error as Error).message };
    }
  }

  pushShared(values: { [key: string]: JsonValue }, deleted: string[] = []): void {
    Object.assign(this.shared, values);
    for (const key of deleted) delete this.shared[key];
    for (const listener of this.sharedListeners.slice()) listener({ values, deleted });
  }

  /** Time-stamped telemetry messages. */
  timed(): TimedValues[] {
    return this.telemetry as TimedValues[];
  }
}

const BUS = { data: 21, clock: 22, hz: 100_000 };

const board: BoardDescription = {
  name: 'test-board',
  pins: {
    led: { pin: 2, mode: 'output' },
    button: { pin: 0, mode: 'input-pullup', activeLow: true, debounceMs: 30 },
    relay1: { pin: 25, mode: 'output', activeLow: true },
    relay2: { pin: 26, mode: 'output' },
  },
  sensors: {
    climate: { kind: 'sht3x', bus: BUS, address: 0x44 },
    ambient: { kind: 'bme280', bus: BUS, address: 0x76 },
  },
  analog: { battery_v: { pin: 34, scale: 0.002, offset: 0, unit: 'V', resolution: 12 } },
};

interface Rig {
  clock: FakeClock;
  io: MockIo;
  device: FakeDevice;
  store: Store;
  sht: Sht3xModel;
  bme: Bme280Model;
  logs: { level: string; message: string }[];
  firmware: Firmware;
  make(extra?: Partial<FirmwareOptions>): Firmware;
}

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

function rig(extra: Partial<FirmwareOptions> = {}, store: Store = new MemoryStore()): Rig {
  const clock = new FakeClock();
  const io = new MockIo();
  const sht = new Sht3xModel(clock);
  const bme = new Bme280Model(undefined, clock);
  io.bus(21, 22).attach(0x44, sht);
  io.bus(21, 22).attach(0x76, bme);
  sht.setTemperature(21.5);
  sht.setHumidity(40);
  bme.temperature = 22;
  bme.pressure = 1000;
  bme.humidity = 45;
  io.pin(34).setAnalog(2000); // 4.0 V
  const device = new FakeDevice();
  const logs: { level: string; message: string }[] = [];
  const log: Log = {
    debug: (message) => void logs.push({ level: 'debug', message }),
    info: (message) => void logs.push({ level: 'info', message }),
    warn: (message) => void logs.push({ level: 'warn', message }),
    error: (message) => void logs.push({ level: 'error', message }),
  };
  const make = (more: Partial<FirmwareOptions> = {}) => {
    const firmware = new Firmware({ device, io, board, clock, store, log, info: { name: 'tbxs-test', version: '1.2.3' }, ...extra, ...more });
    closers.push(() => firmware.close());
    return firmware;
  };
  return { clock, io, device, store, sht, bme, logs, firmware: make(), make };
}

const warnings = (r: Rig) => r.logs.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.message);
const CONVERSION = 19; // the SHT3x's wait (hal/drivers/sht3x.ts), the longest of the board

describe('Firmware telemetry', () => {
  it('publishes one message per interval, the first at start, each with the clock time', () => {
    const r = rig();
    const t0 = r.clock.now();
    r.firmware.start();
    expect(r.device.telemetry).toHaveLength(0); // converting
    r.clock.advance(CONVERSION);
    expect(r.device.telemetry).toHaveLength(1);
    r.clock.advance(3 * 5000);
    const ts = r.device.timed().map((m) => m.ts);
    expect(ts).toEqual([0, 1, 2, 3].map((k) => t0 + k * 5000 + CONVERSION));
  });

  it('sends every reading, prefixed by sensor name for I2C, as the analog name for analog inputs', () => {
    const r = rig();
    r.firmware.start();
    r.clock.advance(CONVERSION);
    const values = r.device.timed()[0].values as Record<string, number>;
    expect(Object.keys(values).sort()).toEqual(
      ['ambient_humidity', 'ambient_pressure', 'ambient_temperature', 'battery_v', 'climate_humidity', 'climate_temperature'].sort(),
    );
    expect(values.climate_temperature).toBeCloseTo(21.5, 1);
    expect(values.climate_humidity).toBeCloseTo(40, 1);
    expect(values.ambient_temperature).toBeCloseTo(22, 1);
    expect(values.ambient_pressure).toBeCloseTo(1000, 0);
    expect(values.ambient_humidity).toBeCloseTo(45, 0);
    expect(values.battery_v).toBe(4);
    expect(warnings(r)).toEqual([]);
  });

  it('reports a sensor that stops answering as <sensor>_error while the others still report', () => {
    const r = rig();
    r.firmware.start();
    r.clock.advance(CONVERSION);
    r.sht.answering = false;
    r.clock.advance(5000);
    const values = r.device.timed()[1].values;
    expect(values.climate_error).toMatch(/^no-device: /);
    expect(values).not.toHaveProperty('climate_temperature');
    expect(values).not.toHaveProperty('climate_humidity');
    expect(values.ambient_pressure).toBeCloseTo(1000, 0);
    expect(values.battery_v).toBe(4);
    // It comes back by itself.
    r.sht.answering = true;
    r.clock.advance(5000);
    expect(r.device.timed()[2].values).not.toHaveProperty('climate_error');
    expect(r.device.timed()[2].values.climate_temperature).toBeCloseTo(21.5, 1);
  });

  it('reports a CRC error as an error, never as a number', () => {
    const r = rig();
    r.sht.corruptCrc = 'humidity';
    r.bme.answering = false;
    r.firmware.start();
    r.clock.advance(CONVERSION);
    const values = r.device.timed()[0].values;
    expect(values.climate_error).toMatch(/^crc: /);
    expect(values.ambient_error).toMatch(/^no-device: /);
    expect(Object.keys(values).sort()).toEqual(['ambient_error', 'battery_v', 'climate_error']);
  });

  it('logs a failed publish instead of leaving the rejection unhandled', async () => {
    const r = rig();
    r.device.failSends = new Error('offline queue full');
    r.firmware.start();
    r.clock.advance(CONVERSION);
    await flushMicrotasks();
    expect(warnings(r).some((w) => w.includes('telemetry not sent') && w.includes('offline queue full'))).toBe(true);
    expect(warnings(r).some((w) => w.includes('firmware attributes not sent'))).toBe(true);
  });

  it('stops sampling when telemetryEnabled is false and resumes when true', () => {
    const r = rig();
    r.firmware.start();
    r.clock.advance(CONVERSION);
    r.device.pushShared({ telemetryEnabled: false });
    r.clock.advance(20_000);
    expect(r.device.telemetry).toHaveLength(1);
    r.device.pushShared({ telemetryEnabled: true });
    r.clock.advance(CONVERSION);
    expect(r.device.telemetry).toHaveLength(2);
  });
});

describe('Firmware settings', () => {
  it('applies telemetryIntervalMs from a shared attribute at once, and stores it', () => {
    const r = rig();
    const t0 = r.clock.now();
    r.firmware.start();
    r.clock.advance(1000);
    r.device.pushShared({ telemetryIntervalMs: 2000, somethingElse: 'x' });
    expect(r.firmware.settings.telemetryIntervalMs).toBe(2000);
    r.clock.advance(1000 + CONVERSION); // next cycle one new interval after the last began
    expect(r.device.timed().map((m) => m.ts)).toEqual([t0 + CONVERSION, t0 + 2000 + CONVERSION]);
    r.clock.advance(2000);
    expect(r.device.telemetry).toHaveLength(3);
    expect(r.store.get(SETTINGS_STORE_KEY)).toEqual({ telemetryIntervalMs: 2000 });
    expect(r.device.attributes.at(-1)).toEqual({ settings: { telemetryIntervalMs: 2000, telemetryEnabled: true } });
  });

  it('lengthening the interval postpones the next cycle', () => {
    const r = rig();
    r.firmware.start();
    r.clock.advance(CONVERSION);
    r.device.pushShared({ telemetryIntervalMs: 60_000 });
    r.clock.advance(59_000);
    expect(r.device.telemetry).toHaveLength(1);
    r.clock.advance(1000);
    expect(r.device.telemetry).toHaveLength(2);
  });

  it('a new Firmware with the same store starts with the stored interval', async () => {
    const r = rig();
    r.firmware.start();
    r.device.pushShared({ telemetryIntervalMs: 10_000 });
    r.firmware.close();
    const second = r.make();
    expect(second.settings.telemetryIntervalMs).toBe(10_000);
    const before = r.device.telemetry.length;
    second.start();
    await flushMicrotasks(); // the requested shared attributes agree
    r.clock.advance(CONVERSION + 10_000);
    expect(r.device.telemetry.length - before).toBe(2);
    expect(second.settings.telemetryIntervalMs).toBe(10_000);
  });

  it('starts with the stored settings when offline (the request fails)', async () => {
    const store = new MemoryStore();
    store.set(SETTINGS_STORE_KEY, { telemetryIntervalMs: 10_000 });
    const r = rig({}, store);
    r.device.connected = false;
    r.device.attributeResponse = () => Promise.reject(new Error('not connected'));
    r.firmware.start();
    await flushMicrotasks();
    r.clock.advance(CONVERSION + 20_000);
    expect(r.device.telemetry).toHaveLength(3);
  });

  it('rejects invalid values with a logged reason and keeps the old value', () => {
    const r = rig();
    r.firmware.start();
    r.device.pushShared({ telemetryIntervalMs: 3000 });
    for (const bad of ['fast', '3000', 100, 86_400_001, 1500.5, -1, null, true]) {
      r.device.pushShared({ telemetryIntervalMs: bad as JsonValue });
    }
    r.device.pushShared({ telemetryEnabled: 'yes' });
    expect(r.firmware.settings).toEqual({ telemetryIntervalMs: 3000, telemetryEnabled: true });
    expect(r.store.get(SETTINGS_STORE_KEY)).toEqual({ telemetryIntervalMs: 3000 });
    const rejected = warnings(r).filter((w) => w.includes('rejected'));
    expect(rejected).toHaveLength(9);
    expect(rejected[0]).toContain('telemetryIntervalMs');
    expect(rejected[0]).toContain('keeping 3000');
    expect(rejected.find((w) => w.includes('got 100'))).toContain('500..86400000');
  });

  it('uses the target settings over the defaults, and stored values over both', () => {
    const store = new MemoryStore();
    expect(rig({ settings: { telemetryIntervalMs: 7000 } }, store).firmware.settings.telemetryIntervalMs).toBe(7000);
    store.set(SETTINGS_STORE_KEY, { telemetryIntervalMs: 9000, junk: 1 });
    expect(rig({ settings: { telemetryIntervalMs: 7000 } }, store).firmware.settings.telemetryIntervalMs).toBe(9000);
    store.set(SETTINGS_STORE_KEY, { telemetryIntervalMs: 'bad' });
    const r = rig({}, store);
    expect(r.firmware.settings.telemetryIntervalMs).toBe(5000);
    expect(warnings(r).some((w) => w.includes('setting telemetryIntervalMs from the store rejected'))).toBe(true);
  });

  it('a deleted shared attribute reverts to the configured value and leaves the store', () => {
    const r = rig({ settings: { telemetryIntervalMs: 7000 } });
    r.firmware.start();
    r.device.pushShared({ telemetryIntervalMs: 2000 });
    r.device.pushShared({}, ['telemetryIntervalMs']);
    expect(r.firmware.settings.telemetryIntervalMs).toBe(7000);
    expect(r.store.get(SETTINGS_STORE_KEY)).toEqual({});
  });

  it('requests the settings shared attributes on start and applies the answer', async () => {
    const r = rig();
    r.device.shared.telemetryIntervalMs = 30_000; // changed while the device was off
    r.firmware.start();
    expect(r.device.requests).toHaveLength(1);
    expect(r.device.requests[0].request).toEqual({ sharedKeys: ['telemetryIntervalMs', 'telemetryEnabled'] });
    await flushMicrotasks();
    expect(r.firmware.settings.telemetryIntervalMs).toBe(30_000);
    expect(r.store.get(SETTINGS_STORE_KEY)).toEqual({ telemetryIntervalMs: 30_000 });
  });

  it('a setting the server no longer has falls back to the configured value', async () => {
    const store = new MemoryStore();
    store.set(SETTINGS_STORE_KEY, { telemetryIntervalMs: 9000 });
    const r = rig({}, store);
    r.firmware.start();
    await flushMicrotasks();
    expect(r.firmware.settings.telemetryIntervalMs).toBe(5000);
  });

  it('only logs an attribute request that times out, keeping the stored settings', async () => {
    const store = new MemoryStore();
    store.set(SETTINGS_STORE_KEY, { telemetryIntervalMs: 9000 });
    const r = rig({}, store);
    r.device.attributeResponse = () => Promise.reject(new Error('attribute request timed out after 10000 ms'));
    r.firmware.start();
    await flushMicrotasks();
    expect(r.firmware.settings.telemetryIntervalMs).toBe(9000);
    expect(warnings(r).some((w) => w.includes('timed out'))).toBe(true);
  });
});

describe('Firmware GPIO RPCs', () => {
  it('toggle_gpio takes the pin as name, number or numeric string and answers {name: level}', async () => {
    const r = rig();
    r.firmware.start();
    // Each RPC in a turn of its own: the change is reported from a promise job after the reply.
    expect(r.device.rpc('toggle_gpio', { pin: 'led' })).toEqual({ led: true });
    expect(r.io.pin(2).level).toBe(1);
    expect(r.device.attributes).toHaveLength(1);
    await flushMicrotasks();
    expect(r.device.attributes.slice(1)).toEqual([{ led: true }]);
    expect(r.device.rpc('toggle_gpio', { pin: 2 })).toEqual({ led: false });
    await flushMicrotasks();
    expect(r.device.rpc('toggle_gpio', { pin: '2' })).toEqual({ led: true });
    await flushMicrotasks();
    expect(r.device.rpc('toggle_gpio', 'led')).toEqual({ led: false });
    await flushMicrotasks();
    expect(r.device.rpc('toggle_gpio', '{"pin":2}')).toEqual({ led: true });
    await flushMicrotasks();
    expect(r.firmware.isOn('led')).toBe(true);
    expect(r.device.attributes.slice(1)).toEqual([{ led: true }, { led: false }, { led: true }, { led: false }, { led: true }]);
    // Toggles in one turn are reported once, with the level they left.
    r.device.rpc('toggle_gpio', { pin: 'led' });
    r.device.rpc('toggle_gpio', { pin: 'led' });
    r.device.rpc('toggle_gpio', { pin: 'led' });
    await flushMicrotasks();
    expect(r.device.attributes.slice(6)).toEqual([{ led: false }]);
  });

  it('setGpioStatus maps enabled through activeLow and answers every pin by GPIO number', async () => {
    const r = rig();
    r.firmware.start();
    expect(r.io.pin(25).level).toBe(1); // activeLow relay starts off
    const reply = r.device.rpc('setGpioStatus', { pin: 25, enabled: true });
    expect(reply).toEqual({ '2': false, '25': true, '26': false, '0': false });
    expect(r.io.pin(25).level).toBe(0);
    expect(r.firmware.isOn('relay1')).toBe(true);
    await flushMicrotasks();
    expect(r.device.rpc('setGpioStatus', { pin: '26', enabled: 'true' })).toMatchObject({ '26': true });
    expect(r.io.pin(26).level).toBe(1);
    await flushMicrotasks();
    expect(r.device.rpc('setGpioStatus', { pin: 'relay2', enabled: '0' })).toMatchObject({ '26': false });
    await flushMicrotasks();
    expect(r.device.rpc('setGpioStatus', { pin: 'led', enabled: 1 })).toMatchObject({ '2': true });
    await flushMicrotasks();
    expect(r.device.rpc('setGpioStatus', { pin: 'relay1', enabled: 'false' })).toMatchObject({ '25': false });
    expect(r.io.pin(25).level).toBe(1);
    await flushMicrotasks();
    expect(r.device.attributes.slice(1)).toEqual([{ relay1: true }, { relay2: true }, { relay2: false }, { led: true }, { relay1: false }]);
    // Changes of several pins in one turn go out as one attributes message.
    r.device.rpc('setGpioStatus', { pin: 'relay1', enabled: true });
    r.device.rpc('setGpioStatus', { pin: 'relay2', enabled: true });
    expect(r.device.attributes).toHaveLength(6);
    await flushMicrotasks();
    expect(r.device.attributes.slice(6)).toEqual([{ relay1: true, relay2: true }]);
  });

  it('setGpioStatus to the current state answers but publishes nothing', async () => {
    const r = rig();
    r.firmware.start();
    expect(r.device.rpc('setGpioStatus', { pin: 'led', enabled: false })).toMatchObject({ '2': false });
    await flushMicrotasks();
    expect(r.device.attributes).toHaveLength(1);
  });

  it('getGpioStatus answers {"<GPIO number>": bool} for every pin, inputs included', () => {
    const r = rig();
    r.firmware.start();
    r.device.rpc('toggle_gpio', { pin: 'relay2' });
    expect(r.device.rpc('getGpioStatus', {})).toEqual({ '2': false, '25': false, '26': true, '0': false });
    r.io.pin(0).setLevel(0);
    r.clock.advance(30);
    expect(r.device.rpc('getGpioStatus')).toMatchObject({ '0': true });
    expect(r.firmware.gpioStatus()).toEqual({ led: false, relay1: false, relay2: true, button: true });
  });

  it('answers an unknown pin, an input pin or a bad value with an error and changes nothing', async () => {
    const r = rig();
    r.firmware.start();
    const unknown = r.device.rpc('toggle_gpio', { pin: 7 }) as { error: string };
    expect(unknown.error).toContain('unknown pin 7');
    expect(unknown.error).toContain('led (2)');
    expect((r.device.rpc('setGpioStatus', { pin: 'nope', enabled: true }) as { error: string }).error).toContain('unknown pin "nope"');
    expect((r.device.rpc('toggle_gpio', { pin: 'button' }) as { error: string }).error).toMatch(/button \(GPIO 0\) is an input.*outputs: led \(2\), relay1 \(25\), relay2 \(26\)/);
    expect((r.device.rpc('setGpioStatus', { pin: 0, enabled: true }) as { error: string }).error).toContain('is an input');
    expect((r.device.rpc('setGpioStatus', { pin: 2, enabled: 'maybe' }) as { error: string }).error).toContain('"enabled" must be');
    expect((r.device.rpc('setGpioStatus', { pin: 2 }) as { error: string }).error).toContain('"enabled" must be');
    expect((r.device.rpc('setGpioStatus', [2, true]) as { error: string }).error).toContain('params must be');
    expect((r.device.rpc('toggle_gpio', {}) as { error: string }).error).toContain('unknown pin nothing');
    expect(r.firmware.gpioStatus()).toEqual({ led: false, relay1: false, relay2: false, button: false });
    await flushMicrotasks();
    expect(r.device.attributes).toHaveLength(1);
  });
});

describe('Firmware inputs', () => {
  it('publishes a debounced button edge once, however much the contact bounces', async () => {
    const r = rig();
    r.firmware.start();
    const pin = r.io.pin(0);
    // Press: bounce for 9 ms, then stay down.
    for (const level of [0, 1, 0, 1, 0] as const) {
      pin.setLevel(level);
      r.clock.advance(3);
      await flushMicrotasks();
    }
    expect(r.device.attributes).toHaveLength(1);
    r.clock.advance(29);
    await flushMicrotasks();
    expect(r.device.attributes.slice(1)).toEqual([{ button: true }]);
    expect(r.firmware.isOn('button')).toBe(true);
    // A glitch that comes back within the window changes nothing.
    pin.setLevel(1);
    r.clock.advance(5);
    await flushMicrotasks();
    pin.setLevel(0);
    r.clock.advance(100);
    await flushMicrotasks();
    expect(r.device.attributes).toHaveLength(2);
    // Release.
    pin.release();
    r.clock.advance(30);
    await flushMicrotasks();
    expect(r.device.attributes.slice(1)).toEqual([{ button: true }, { button: false }]);
  });
});

describe('Firmware lifecycle', () => {
  it('announces firmware, board, pins, sensors, settings and pin states on start', () => {
    const r = rig();
    r.firmware.start();
    expect(r.device.attributes[0]).toEqual({
      firmware: 'tbxs-test',
      firmwareVersion: '1.2.3',
      board: 'test-board',
      pins: {
        led: { pin: 2, mode: 'output' },
        button: { pin: 0, mode: 'input-pullup', activeLow: true, debounceMs: 30 },
        relay1: { pin: 25, mode: 'output', activeLow: true },
        relay2: { pin: 26, mode: 'output' },
      },
      sensors: {
        climate: { kind: 'sht3x', address: '0x44' },
        ambient: { kind: 'bme280', address: '0x76' },
        battery_v: { kind: 'analog', pin: 34, unit: 'V' },
      },
      settings: { telemetryIntervalMs: 5000, telemetryEnabled: true },
      led: false,
      relay1: false,
      relay2: false,
      button: false,
    });
  });

  it('with an onConnect hook, waits for the connection and announces again on every connect', () => {
    const listeners: (() => void)[] = [];
    let unsubscribed = 0;
    const onConnect = (listener: () => void) => {
      listeners.push(listener);
      return () => void unsubscribed++;
    };
    const r = rig({ onConnect });
    r.device.connected = false;
    r.firmware.start();
    expect(r.device.attributes).toHaveLength(0);
    expect(r.device.requests).toHaveLength(0);
    r.device.connected = true;
    listeners[0]();
    expect(r.device.attributes).toHaveLength(1);
    expect(r.device.requests).toHaveLength(1);
    listeners[0]();
    expect(r.device.attributes).toHaveLength(2);
    expect(r.device.requests).toHaveLength(2);
    r.firmware.close();
    expect(unsubscribed).toBe(1);
    listeners[0]();
    expect(r.device.attributes).toHaveLength(2);
  });

  it('close() leaves no timer pending, no pin open, no RPC method or listener registered', async () => {
    const r = rig();
    r.firmware.start();
    r.device.rpc('toggle_gpio', { pin: 'relay2' }); // its report is still waiting for its job
    r.clock.advance(5); // mid-conversion
    r.io.pin(0).setLevel(0); // mid-debounce
    expect(r.clock.pending()).toBeGreaterThan(1);
    expect(r.io.openPins()).toEqual([0, 2, 25, 26, 34]);
    expect([...r.device.handlers.keys()].sort()).toEqual(['getGpioStatus', 'setGpioStatus', 'toggle_gpio']);
    r.firmware.close();
    expect(r.clock.pending()).toBe(0);
    expect(r.io.openPins()).toEqual([]);
    expect(r.device.handlers.size).toBe(0);
    expect(r.device.sharedListeners).toHaveLength(0);
    r.clock.advance(60_000);
    await flushMicrotasks();
    expect(r.device.telemetry).toHaveLength(0);
    expect(r.device.attributes).toHaveLength(1); // the GPIO report after close() sends nothing
    r.firmware.close();
  });

  it('a late attribute response after close() changes nothing', async () => {
    const r = rig();
    let answer: (value: AttributesResponse) => void = () => {};
    r.device.attributeResponse = () => new Promise((resolve) => (answer = resolve));
    r.firmware.start();
    r.firmware.close();
    answer({ client: {}, shared: { telemetryIntervalMs: 1000 } });
    await flushMicrotasks();
    expect(r.firmware.settings.telemetryIntervalMs).toBe(5000);
    expect(r.clock.pending()).toBe(0);
  });

  it('a pin that cannot be opened is logged and reported, the rest still works', () => {
    const r = rig();
    const squatter = r.io.openDigitalOutput({ pin: 26 });
    r.firmware.start();
    expect(warnings(r).some((w) => w.includes('relay2 (GPIO 26) not opened'))).toBe(true);
    expect((r.device.rpc('toggle_gpio', { pin: 'relay2' }) as { error: string }).error).toContain('could not be opened');
    expect(r.device.rpc('toggle_gpio', { pin: 'led' })).toEqual({ led: true });
    r.firmware.close();
    expect(r.io.openPins()).toEqual([26]);
    squatter.close();
  });
});
