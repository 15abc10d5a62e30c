import { describe, expect, it, vi } from 'vitest';
import type { IoFactory } from '../../hal/types';
import { isHalError } from '../../hal/types';
import { BOARDS, ESP32_ADC_BITS } from '../../targets/esp32/boards';

/**
 * hal/moddable over fakes of Moddable's ESP32 ECMA-419 classes, each keeping what the adapter
 * depends on (read from the Moddable sources):
 * - Analog (modules/io/analog/esp32/_analog.c): takes `pin`, ignores `resolution`, reports
 *   resolution 10 and reads calibrated millivolts scaled so that 3.3 V is 1023;
 * - Digital (modules/io/digital/digital.js, esp32/digitalbank.c): modes Input 0, InputPullUp 1,
 *   InputPullDown 2, Output 8, OutputOpenDrain 9; edges Rising 1, Falling 2; onReadable only with
 *   an input mode and an edge ("invalid edges"); an output opens low; read() of an output and
 *   write() of an input throw "unimplemented";
 * - I2C (modules/io/i2c/esp32/_i2c.c): needs data, clock, address and hz > 0 ("invalid hz");
 *   read(count) returns an ArrayBuffer, a missing acknowledge throws "read failed"/"write failed";
 * - PWM (modules/io/pwm/esp32/_pwm.c): `pin`, optional `hz` (default 1024), resolution 10,
 *   write(value) with value in 0..1023.
 */
vi.mock('embedded:io/analog', () => ({ default: class {} }));
vi.mock('embedded:io/digital', () => ({ default: class {} }));
vi.mock('embedded:io/i2c', () => ({ default: class {} }));
vi.mock('embedded:io/pwm', () => ({ default: class {} }));

interface ModdableIoModule {
  ModdableIo: new (classes: Record<string, unknown>) => IoFactory;
}
// Imported through a computed path: the Node type check (tsconfig.host.json) has no embedded:io.
const modulePath = '../../hal/moddable/index';
const { ModdableIo } = (await import(/* @vite-ignore */ modulePath)) as ModdableIoModule;

class FakeAnalog {
  static millivolts = 0;
  constructor(readonly options: { pin: number; resolution?: number }) {
    if (![32, 33, 34, 35, 36, 37, 38, 39].includes(options.pin)) throw new RangeError('not analog pin');
  }
  get resolution() {
    return 10;
  }
  read() {
    return Math.trunc((FakeAnalog.millivolts * 1023) / 3300);
  }
  close() {}
}

/** Counts close() calls on any fake: Moddable's close() of a closed object is not to be relied on. */
const closes = new Map<object, number>();
function countClose(target: object) {
  closes.set(target, (closes.get(target) ?? 0) + 1);
}

class FakeDigital {
  static Input = 0;
  static InputPullUp = 1;
  static InputPullDown = 2;
  static Output = 8;
  static OutputOpenDrain = 9;
  static Rising = 1;
  static Falling = 2;
  static opened: FakeDigital[] = [];
  level = 0;
  constructor(readonly options: { pin: number; mode: number; edge?: number; onReadable?: () => void }) {
    const { mode, edge, onReadable } = options;
    if (![0, 1, 2, 3, 8, 9].includes(mode)) throw new RangeError('invalid mode');
    if (onReadable) {
      if (mode > 3) throw new RangeError('invalid mode');
      if (!edge) throw new RangeError('invalid edges');
    }
    FakeDigital.opened.push(this);
  }
  read() {
    if (this.options.mode >= 8) throw new Error('unimplemented');
    return this.level;
  }
  write(value: number) {
    if (this.options.mode < 8) throw new Error('unimplemented');
    this.level = value ? 1 : 0;
  }
  close() {
    countClose(this);
  }
}

class FakeI2c {
  static present = new Set([0x44]);
  static last: FakeI2c | undefined;
  written: number[][] = [];
  constructor(readonly options: { data: number; clock: number; address: number; hz: number; port?: number }) {
    for (const key of ['data', 'clock', 'address'] as const) if (!(key in options)) throw new RangeError(key + ' required');
    if (!(options.hz > 0)) throw new RangeError('invalid hz');
    FakeI2c.last = this;
  }
  read(count: number) {
    if (!FakeI2c.present.has(this.options.address)) throw new Error('read failed');
    return new Uint8Array(count).fill(7).buffer;
  }
  write(bytes: Uint8Array) {
    if (!FakeI2c.present.has(this.options.address)) throw new Error('write failed');
    this.written.push([...bytes]);
  }
  close() {}
}

class FakePwm {
  static last: FakePwm | undefined;
  duty = 0;
  constructor(readonly options: { pin: number; hz?: number }) {
    FakePwm.last = this;
  }
  get resolution() {
    return 10;
  }
  get hz() {
    return this.options.hz ?? 1024;
  }
  write(value: number) {
    if (value < 0 || value > 1023) throw new RangeError('invalid value');
    this.duty = value;
  }
  close() {}
}

const io = () => new ModdableIo({ Analog: FakeAnalog, Digital: FakeDigital, I2C: FakeI2c, PWM: FakePwm });

describe('esp32 hal/moddable over Moddable ECMA-419 IO', () => {
  it('reads the battery at the resolution its board was calibrated for (Moddable gives 10 bits)', () => {
    for (const board of Object.values(BOARDS)) {
      const battery = board.analog!.battery_v;
      expect(battery.resolution).toBe(ESP32_ADC_BITS);
      const input = io().openAnalog({ pin: battery.pin, resolution: battery.resolution });
      expect(input.resolution).toBe(10);
      // 4.0 V through the 100k/100k divider is 2.0 V at the pin.
      FakeAnalog.millivolts = 2000;
      expect(input.read() * battery.scale + battery.offset).toBeCloseTo(4.0, 2);
      input.close();
    }
  });

  it('scales readings to a requested resolution the platform ignores, and keeps its own otherwise', () => {
    FakeAnalog.millivolts = 3300;
    const twelve = io().openAnalog({ pin: 35, resolution: 12 });
    expect(twelve.resolution).toBe(12);
    expect(twelve.read()).toBe(4095);
    FakeAnalog.millivolts = 1650;
    expect(twelve.read()).toBe(Math.round((511 * 4095) / 1023));
    const native = io().openAnalog({ pin: 35 });
    expect(native.resolution).toBe(10);
    expect(native.read()).toBe(511);
    const bad = (() => {
      try {
        io().openAnalog({ pin: 2 });
      } catch (error) {
        return error;
      }
    })();
    expect(isHalError(bad) && bad.code).toBe('bad-config');
  });

  it("opens digital pins with Moddable's mode constants, an edge only with a callback", () => {
    FakeDigital.opened = [];
    const levels: number[] = [];
    const button = io().openDigitalInput({ pin: 0, mode: 'input-pullup' }, (level) => levels.push(level));
    const plain = io().openDigitalInput({ pin: 4, mode: 'input-pulldown' });
    const relay = io().openDigitalOutput({ pin: 26, mode: 'output', initial: 1 });
    const drain = io().openDigitalOutput({ pin: 27, mode: 'output-open-drain' });
    const [b, p, r, d] = FakeDigital.opened;
    expect(b.options).toMatchObject({ pin: 0, mode: 1, edge: 3 });
    expect(typeof b.options.onReadable).toBe('function');
    expect(p.options).toEqual({ pin: 4, mode: 2 });
    expect(r.options).toEqual({ pin: 26, mode: 8 });
    expect(d.options).toEqual({ pin: 27, mode: 9 });
    expect(r.level).toBe(1);
    // An output is never read back from Moddable (it throws there): the adapter remembers.
    expect(relay.read()).toBe(1);
    relay.write(0);
    expect(relay.read()).toBe(0);
    b.level = 0;
    b.options.onReadable!();
    expect(levels).toEqual([0]);
    for (const pin of [button, plain, relay, drain]) pin.close();
  });

  it('opens I2C with data, clock, hz and address, and reports a missing chip as no-device', () => {
    const sht = io().openI2c({ data: 21, clock: 22, hz: 100_000, address: 0x44 });
    expect(FakeI2c.last!.options).toEqual({ data: 21, clock: 22, hz: 100_000, address: 0x44 });
    sht.write(Uint8Array.of(0x24, 0x00));
    expect([...sht.read(3)]).toEqual([7, 7, 7]);
    const absent = io().openI2c({ data: 21, clock: 22, hz: 100_000, address: 0x76 });
    let failure: unknown;
    try {
      absent.read(1);
    } catch (error) {
      failure = error;
    }
    expect(isHalError(failure) && failure.code).toBe('no-device');
    expect((failure as Error).message).toContain('read failed');
  });

  it("opens PWM with the pin and, when given, hz, at the platform's resolution", () => {
    const led = io().openPwm({ pin: 2 });
    expect(FakePwm.last!.options).toEqual({ pin: 2 });
    expect([led.resolution, led.hz]).toEqual([10, 1024]);
    led.write(1023);
    expect(FakePwm.last!.duty).toBe(1023);
    io().openPwm({ pin: 4, hz: 5000 });
    expect(FakePwm.last!.options).toEqual({ pin: 4, hz: 5000 });
  });

  it("closes the Moddable object once, then refuses use with 'closed' and ignores late edges", () => {
    FakeDigital.opened = [];
    const levels: number[] = [];
    const button = io().openDigitalInput({ pin: 0, mode: 'input-pullup' }, (level) => levels.push(level));
    const relay = io().openDigitalOutput({ pin: 26, mode: 'output' });
    const [b, r] = FakeDigital.opened;
    button.close();
    button.close();
    relay.close();
    relay.close();
    expect([closes.get(b), closes.get(r)]).toEqual([1, 1]);
    b.options.onReadable!();
    expect(levels).toEqual([]);
    for (const use of [() => button.read(), () => relay.read(), () => relay.write(1)]) {
      let failure: unknown;
      try {
        use();
      } catch (error) {
        failure = error;
      }
      expect(isHalError(failure) && failure.code).toBe('closed');
    }
    let refused: unknown;
    try {
      io().openDigitalOutput({ pin: 27, mode: 'output', initial: 2 as 0 });
    } catch (error) {
      refused = error;
    }
    expect(isHalError(refused)).toBe(true);
  });
});
