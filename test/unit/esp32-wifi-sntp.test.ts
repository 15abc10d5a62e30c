import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Log } from '../../src/platform/log';

/**
 * targets/esp32/wifi-sntp.ts against fakes of Moddable's `timer`, `wifi`, `sntp` and `net` that
 * keep the behaviour the code depends on (read from the Moddable sources):
 * - timer (modules/base/timer/modTimer.c): Timer.set(cb, ms, repeat); a one-shot timer that fired
 *   is gone, and Timer.clear or Timer.schedule on it throws;
 * - wifi (modules/network/wifi/esp32): the monitor callback gets "connect", "gotIP",
 *   "disconnect"; WiFi.connect() first disconnects, aborting an attempt in progress;
 * - sntp (modules/network/sntp/sntp.js): the callback gets 2 on each retransmission, then 1 with
 *   seconds or -1 with a message, and SNTP closes itself after 1 or -1 (a second close throws on
 *   the desktop sockets and clears an undefined timer).
 */
const fake = vi.hoisted(() => {
  class FakeTimer {
    constructor(
      public callback: (() => void) | undefined,
      public at: number,
      public repeat: number,
    ) {}
  }
  const state = {
    now: 0,
    timers: new Set<FakeTimer>(),
    ip: undefined as string | undefined,
    wifiCallbacks: [] as ((message: string) => void)[],
    connects: [] as unknown[],
    sntp: [] as FakeSntp[],
  };
  const Timer = {
    set(callback: () => void, ms = 0, repeat = 0) {
      const t = new FakeTimer(callback, state.now + ms, repeat);
      state.timers.add(t);
      return t;
    },
    repeat(callback: () => void, ms: number) {
      return Timer.set(callback, ms, ms);
    },
    schedule(t: FakeTimer, ms: number, repeat = 0) {
      if (!state.timers.has(t)) throw new Error('invalid timer');
      t.at = state.now + ms;
      t.repeat = repeat;
    },
    clear(t: FakeTimer | undefined) {
      if (t === undefined) return;
      if (!state.timers.delete(t)) throw new Error('invalid timer');
    },
  };
  function advance(ms: number) {
    const end = state.now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of state.timers) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      state.now = next.at;
      if (next.repeat) next.at += next.repeat;
      else state.timers.delete(next);
      next.callback?.();
    }
    state.now = end;
  }
  class WiFi {
    static gotIP = 'gotIP';
    static lostIP = 'lostIP';
    static connected = 'connect';
    static disconnected = 'disconnect';
    closed = false;
    constructor(dictionary: unknown, callback: (message: string) => void) {
      if (dictionary) throw new Error('the watch must not join by itself');
      state.wifiCallbacks.push(callback);
    }
    close() {
      this.closed = true;
    }
    static connect(options: unknown) {
      state.connects.push(options);
    }
  }
  class FakeSntp {
    closes = 0;
    constructor(
      readonly options: { host: string },
      readonly callback: (message: number, value?: unknown) => unknown,
    ) {
      state.sntp.push(this);
    }
    /** What sntp.js does: report, then close itself unless the callback names another host. */
    report(message: number, value?: unknown) {
      const result = this.callback(message, value);
      if (message !== 2 && !result) this.close();
    }
    close() {
      if (this.closes++) throw new Error('close on closed socket');
    }
  }
  const Net = {
    get: (what: string) => (what === 'IP' ? state.ip : undefined),
    resolve: () => {
      throw new Error('not used');
    },
  };
  return { state, Timer, advance, WiFi, FakeSntp, Net };
});

vi.mock('timer', () => ({ default: fake.Timer }));
vi.mock('wifi', () => ({ default: fake.WiFi }));
vi.mock('sntp', () => ({ default: fake.FakeSntp }));
vi.mock('net', () => ({ default: fake.Net }));

/** The module's shape; it is imported through a computed path because the Node type check
 * (tsconfig.host.json) has no Moddable modules to follow. */
interface WifiSntpModule {
  WifiWatch: new (ssid: string, password: string | undefined, log: Log) => { close(): void };
  SntpRetry: new (hosts: string[], onTime: (epochMs: number) => void, log: Log, retryMs?: number) => { close(): void };
}
const modulePath = '../../targets/esp32/wifi-sntp';
const { SntpRetry, WifiWatch } = (await import(/* @vite-ignore */ modulePath)) as WifiSntpModule;

function quietLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => lines.push(level + ': ' + message);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

beforeEach(() => {
  const s = fake.state;
  s.now = 0;
  s.timers.clear();
  s.ip = undefined;
  s.wifiCallbacks.length = 0;
  s.connects.length = 0;
  s.sntp.length = 0;
});

describe('esp32 WifiWatch', () => {
  it('rejoins 5 s after each "disconnect" and never aborts an attempt that has not reported', () => {
    const watch = new WifiWatch('home', 'secret', quietLog());
    const notify = fake.state.wifiCallbacks[0];
    expect(fake.state.connects).toEqual([]);

    notify('disconnect');
    notify('disconnect'); // a second report does not add a second timer
    expect(fake.state.timers.size).toBe(1);
    fake.advance(4999);
    expect(fake.state.connects).toEqual([]);
    fake.advance(1);
    expect(fake.state.connects).toEqual([{ ssid: 'home', password: 'secret' }]);

    // The attempt runs for 20 s without a report: no new WiFi.connect() cuts it short.
    fake.advance(20_000);
    expect(fake.state.connects.length).toBe(1);
    // It fails: the next one 5 s later.
    notify('disconnect');
    fake.advance(5000);
    expect(fake.state.connects.length).toBe(2);
    // An attempt that never reports is retried after 60 s.
    fake.advance(60_000);
    expect(fake.state.connects.length).toBe(3);

    fake.state.ip = '192.168.1.20';
    notify('gotIP');
    expect(fake.state.timers.size).toBe(0);
    watch.close();
    expect(fake.state.timers.size).toBe(0);
  });

  it('joins without a password when none was given, and stops when the address came back on its own', () => {
    const watch = new WifiWatch('open-net', undefined, quietLog());
    const notify = fake.state.wifiCallbacks[0];
    notify('disconnect');
    fake.advance(5000);
    expect(fake.state.connects).toEqual([{ ssid: 'open-net' }]);
    notify('disconnect');
    fake.state.ip = '10.0.0.9';
    fake.advance(5000);
    expect(fake.state.connects.length).toBe(1);
    expect(fake.state.timers.size).toBe(0);
    watch.close();
  });
});

describe('esp32 SntpRetry', () => {
  it('leaves closing to SNTP after it reported, and asks again after retryMs', () => {
    const log = quietLog();
    const times: number[] = [];
    const retry = new SntpRetry(['pool.ntp.org'], (ms: number) => times.push(ms), log, 30_000);
    const first = fake.state.sntp[0];
    expect(first.options).toEqual({ host: 'pool.ntp.org' });
    first.report(2); // retransmitting
    first.report(-1, 'no response from SNTP server');
    expect(first.closes).toBe(1); // its own close only: a second one would throw
    expect(fake.state.sntp.length).toBe(1);
    fake.advance(30_000);
    const second = fake.state.sntp[1];
    second.report(1, 1_750_000_000);
    expect(second.closes).toBe(1);
    expect(times).toEqual([1_750_000_000_000]);
    expect(fake.state.timers.size).toBe(0);
    retry.close();
    expect(second.closes).toBe(1);
    expect(log.lines.some((line) => line.startsWith('warn: sntp: no answer from pool.ntp.org'))).toBe(true);
  });

  it('close() stops a request in flight and the retries', () => {
    const retry = new SntpRetry(['pool.ntp.org'], () => undefined, quietLog(), 30_000);
    const client = fake.state.sntp[0];
    retry.close();
    expect(client.closes).toBe(1);
    client.callback(1, 1_750_000_000); // a late answer is ignored
    fake.advance(60_000);
    expect(fake.state.sntp.length).toBe(1);

    const again = new SntpRetry(['pool.ntp.org'], () => undefined, quietLog(), 30_000);
    fake.state.sntp[1].report(-1, 'cannot resolve pool.ntp.org');
    again.close();
    expect(fake.state.timers.size).toBe(0);
    fake.advance(60_000);
    expect(fake.state.sntp.length).toBe(2);
  });
});
