import { describe, expect, it } from 'vitest';
import { EPOCH_KNOWN_AFTER_MS, EpochClock, type ClockHost } from '../../targets/esp32/clock';
import { CONFIG_KEYS, readConfig } from '../../targets/esp32/config';
import { MAX_VALUE_BYTES, PreferenceStore, type PreferenceApi } from '../../targets/esp32/preference-store';
import { stampTelemetry, TimeAwareDevice } from '../../targets/esp32/time-aware-device';
import { SETTINGS_STORE_KEY } from '../../src/app/settings-store';
import { CREDENTIALS_KEY } from '../../src/thingsboard/credentials';
import type { TbDevice } from '../../src/thingsboard/tb-device';
import type { TelemetryInput } from '../../src/thingsboard/telemetry';

/** Moddable Preference on ESP32 as far as the store can see: NVS refuses keys over 15 characters. */
class FakePreference implements PreferenceApi {
  readonly values = new Map<string, string | boolean | number | ArrayBuffer>();
  writes = 0;
  get(domain: string, key: string) {
    return this.values.get(domain + '/' + key);
  }
  set(domain: string, key: string, value: string | boolean | number | ArrayBuffer) {
    if (key.length > 15 || domain.length > 15) throw new Error('nvs set fail');
    if (typeof value === 'string' && value.length > 4000) throw new Error('nvs set fail');
    this.writes++;
    this.values.set(domain + '/' + key, value);
  }
  delete(domain: string, key: string) {
    this.values.delete(domain + '/' + key);
  }
}

describe('esp32 PreferenceStore', () => {
  it('keeps JSON values as text in the tbxs domain', () => {
    const pref = new FakePreference();
    const store = new PreferenceStore(pref);
    store.set('tbCredentials', { type: 'ACCESS_TOKEN', token: 'abc' });
    expect(pref.values.get('tbxs/tbCredentials')).toBe('{"type":"ACCESS_TOKEN","token":"abc"}');
    expect(store.get('tbCredentials')).toEqual({ type: 'ACCESS_TOKEN', token: 'abc' });
    store.set('n', 3);
    expect(store.get('n')).toBe(3);
    store.delete('n');
    expect(store.get('n')).toBeUndefined();
    expect(store.get('missing')).toBeUndefined();
  });

  it('does not rewrite flash when the value is unchanged', () => {
    const pref = new FakePreference();
    const store = new PreferenceStore(pref);
    store.set('appSettings', { telemetryIntervalMs: 5000 });
    store.set('appSettings', { telemetryIntervalMs: 5000 });
    expect(pref.writes).toBe(1);
  });

  it('reads foreign or broken values as undefined', () => {
    const pref = new FakePreference();
    const store = new PreferenceStore(pref);
    pref.values.set('tbxs/a', 7);
    pref.values.set('tbxs/b', '{broken');
    expect(store.get('a')).toBeUndefined();
    expect(store.get('b')).toBeUndefined();
  });

  it('refuses keys over 15 characters and values over the NVS limit before writing', () => {
    const pref = new FakePreference();
    const store = new PreferenceStore(pref);
    expect(() => store.set('sixteen-chars-xx', 1)).toThrow(/1 to 15/);
    expect(() => store.get('')).toThrow();
    expect(() => store.set('big', 'x'.repeat(MAX_VALUE_BYTES))).toThrow(/limit/);
    // 1,400 three-byte characters: 4,202 bytes of UTF-8 in 1,402 characters.
    expect(() => store.set('wide', '€'.repeat(1400))).toThrow(/4202 bytes/);
    store.set('fits', 'x'.repeat(MAX_VALUE_BYTES - 2));
    expect(pref.writes).toBe(1);
  });

  it('takes every key the firmware stores (ESP32 NVS: 15 characters, documented in Moddable files.md)', () => {
    const store = new PreferenceStore(new FakePreference());
    for (const key of [CREDENTIALS_KEY, SETTINGS_STORE_KEY]) {
      expect(key.length, key).toBeLessThanOrEqual(15);
      store.set(key, { ok: true });
      expect(store.get(key)).toEqual({ ok: true });
    }
  });
});

class FakeHost implements ClockHost {
  wall: number;
  timers = new Map<number, { at: number; callback: () => void }>();
  next = 1;
  constructor(wall: number) {
    this.wall = wall;
  }
  wallNow() {
    return this.wall;
  }
  setTimer(callback: () => void, ms: number) {
    const id = this.next++;
    this.timers.set(id, { at: this.wall + ms, callback });
    return id;
  }
  clearTimer(timer: unknown) {
    if (!this.timers.delete(timer as number)) throw new Error('Timer.clear of a fired timer');
  }
  setSystemTime(epochMs: number) {
    this.wall = epochMs;
  }
  advance(ms: number) {
    this.wall += ms;
    for (const [id, t] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.wall) {
        this.timers.delete(id);
        t.callback();
      }
    }
  }
}

describe('esp32 EpochClock', () => {
  it('is epoch time from the start when the system clock was already set (SNTP before main)', () => {
    const host = new FakeHost(1_750_000_000_000);
    const clock = new EpochClock(host);
    expect(clock.epochKnown).toBe(true);
    expect(clock.now()).toBe(1_750_000_000_000);
    expect(clock.toEpoch(clock.now())).toBe(1_750_000_000_000);
  });

  it('never jumps when the time is learned later, and maps earlier readings to the real date', () => {
    const host = new FakeHost(12_000); // 12 s after boot, 1970
    const clock = new EpochClock(host);
    expect(clock.epochKnown).toBe(false);
    const reading = clock.now();
    expect(clock.toEpoch(reading)).toBeUndefined();
    host.advance(3000);
    let told = 0;
    clock.onEpochKnown(() => told++);
    clock.setEpoch(1_750_000_000_000);
    expect(told).toBe(1);
    expect(host.wall).toBe(1_750_000_000_000); // system time set (Time.set) for TLS date checks
    expect(clock.now()).toBe(15_000); // no jump
    host.advance(1000);
    expect(clock.now()).toBe(16_000);
    expect(clock.toEpoch(clock.now())).toBe(1_750_000_001_000);
    expect(clock.toEpoch(reading)).toBe(1_750_000_000_000 - 3000);
    expect(EPOCH_KNOWN_AFTER_MS).toBeLessThan(1_750_000_000_000);
  });

  it('never goes backwards when the system time is stepped back', () => {
    const host = new FakeHost(1_750_000_000_000);
    const clock = new EpochClock(host);
    const a = clock.now();
    host.wall -= 5000;
    expect(clock.now()).toBe(a);
    host.wall += 10;
    expect(clock.now()).toBe(a + 10);
  });

  it('runs one-shot timers, survives clearing a fired one, and logs a throwing callback', () => {
    const host = new FakeHost(1_750_000_000_000);
    const errors: string[] = [];
    const clock = new EpochClock(host, { debug() {}, info() {}, warn() {}, error: (m) => errors.push(m) });
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 100);
    const other = clock.setTimeout(() => {
      throw new Error('boom');
    }, 50);
    const cancelled = clock.setTimeout(() => fired++, 100);
    clock.clearTimeout(cancelled);
    host.advance(100);
    expect(fired).toBe(1);
    expect(errors[0]).toContain('boom');
    expect(() => clock.clearTimeout(handle)).not.toThrow();
    expect(() => clock.clearTimeout(other)).not.toThrow();
    expect(() => clock.clearTimeout(undefined)).not.toThrow();
    expect(host.timers.size).toBe(0);
  });
});

describe('esp32 telemetry time stamps', () => {
  const unknown = { toEpoch: () => undefined };
  const known = { toEpoch: (t: number) => t + 1_000_000 };

  it('sends readings without ts while the date is unknown (server time)', () => {
    expect(stampTelemetry({ ts: 5000, values: { t: 1 } }, unknown)).toEqual({ t: 1 });
    expect(stampTelemetry([{ ts: 5000, values: { t: 1 } }, { h: 2 }], unknown)).toEqual([{ t: 1 }, { h: 2 }]);
  });

  it('maps clock time stamps to epoch ones once it is known, and leaves plain values alone', () => {
    expect(stampTelemetry({ ts: 5000, values: { t: 1 } }, known)).toEqual({ ts: 1_005_000, values: { t: 1 } });
    const plain: TelemetryInput = { t: 1 };
    expect(stampTelemetry(plain, known)).toBe(plain);
  });

  it('wraps a TbDevice, passing everything else through', async () => {
    const sent: TelemetryInput[] = [];
    const inner = {
      connected: true,
      sendTelemetry: async (d: TelemetryInput) => {
        sent.push(d);
      },
      sendAttributes: async () => {},
      requestAttributes: async () => ({ client: {}, shared: {} }),
      onSharedAttributes: () => () => {},
      onRpc: () => () => {},
      claim: async () => {},
    } satisfies TbDevice;
    const device = new TimeAwareDevice(inner, unknown);
    expect(device.connected).toBe(true);
    await device.sendTelemetry({ ts: 1, values: { a: 1 } });
    expect(sent).toEqual([{ a: 1 }]);
  });
});

describe('esp32 config (mc/config)', () => {
  it('reads command-line strings', () => {
    const c = readConfig({ tbHost: ' tb.local ', tbPort: '1884', tbToken: 'T', board: 'nodemcu-32s', tbTls: 'false', telemetryMs: '10000', batteryScale: '0.0017' });
    expect(c).toMatchObject({ host: 'tb.local', port: 1884, tls: false, board: 'nodemcu-32s', telemetryMs: 10000, batteryScale: 0.0017 });
    expect(c.credentials).toEqual({ type: 'ACCESS_TOKEN', token: 'T' });
    expect(c.provisioning).toBeUndefined();
  });

  it('defaults the port from TLS and takes provisioning keys', () => {
    const c = readConfig({ tbHost: 'tb', tbTls: true, tbProvisionKey: 'k', tbProvisionSecret: 's', tbDeviceName: 'esp-1' });
    expect(c.port).toBe(8883);
    expect(c.credentials).toBeUndefined();
    expect(c.provisioning).toEqual({ provisionDeviceKey: 'k', provisionDeviceSecret: 's', deviceName: 'esp-1' });
    expect(c.tlsVerify).toBe(true);
  });

  it('reads the reconnect backoff (the session defaults where none is given)', () => {
    expect(readConfig({ tbHost: 'h' }).persistOutbox).toBeUndefined();
    expect(readConfig({ tbHost: 'h', tbPersistOutbox: '1' }).persistOutbox).toEqual({});
    expect(readConfig({ tbHost: 'h', tbPersistOutbox: 'true', tbOutboxWriteMs: '30000' }).persistOutbox).toEqual({ writeAfterMs: 30000 });
    expect(() => readConfig({ tbHost: 'h', tbOutboxWriteMs: '30000' })).toThrow(/tbOutboxWriteMs is for tbPersistOutbox=1/);
    expect(() => readConfig({ tbHost: 'h', tbPersistOutbox: '1', tbOutboxWriteMs: '5' })).toThrow(/tbOutboxWriteMs/);
    expect(readConfig({ tbHost: 'h' }).reconnect).toBeUndefined();
    expect(readConfig({ tbHost: 'h', tbReconnectMinMs: '250', tbReconnectMaxMs: '8000', tbReconnectJitter: '0.2' }).reconnect).toEqual({ initialMs: 250, maxMs: 8000, jitter: 0.2 });
    expect(readConfig({ tbHost: 'h', tbReconnectMaxMs: 5000 }).reconnect).toEqual({ maxMs: 5000 });
    expect(() => readConfig({ tbHost: 'h', tbReconnectMinMs: '0' })).toThrow(/tbReconnectMinMs/);
    expect(() => readConfig({ tbHost: 'h', tbReconnectJitter: '2' })).toThrow(/tbReconnectJitter/);
    expect(() => readConfig({ tbHost: 'h', tbReconnectMinMs: '90000' })).toThrow(/tbReconnectMinMs=90000 is over tbReconnectMaxMs=60000/);
  });

  it('names the key of a bad value', () => {
    expect(() => readConfig({})).toThrow(/tbHost/);
    expect(() => readConfig({ tbHost: 'h', tbPort: '70000' })).toThrow(/tbPort/);
    expect(() => readConfig({ tbHost: 'h', tbTls: 'maybe' })).toThrow(/tbTls/);
    expect(() => readConfig({ tbHost: 'h', tbProvisionKey: 'k' })).toThrow(/tbProvisionSecret/);
  });

  it('documents every key it reads', () => {
    for (const key of ['tbHost', 'tbPort', 'tbToken', 'board', 'ssid', 'password', 'sntp', 'tbTls']) expect(CONFIG_KEYS).toHaveProperty(key);
  });
});
