import { describe, expect, it } from 'vitest';
import { Bme280Driver, compensateHumidity, compensatePressure, compensateTemperature, parseTrim } from '../../hal/drivers';
import type { Bme280Calibration } from '../../hal/mock';
import { Bme280Model, DATASHEET_CALIBRATION, MockIo, forwardHumidity } from '../../hal/mock';
import { expectHalError } from '../contract/expect-hal-error';
import { FakeClock } from '../support/fake-clock';

const BUS = { data: 21, clock: 22, hz: 400_000 };
const C = DATASHEET_CALIBRATION;

function setup(options: { calibration?: Bme280Calibration; clock?: FakeClock; chipId?: number } = {}) {
  const io = new MockIo();
  const model = new Bme280Model(options.calibration, options.clock, options.chipId);
  const bus = io.bus(BUS.data, BUS.clock);
  bus.attach(0x76, model);
  const driver = new Bme280Driver(io.openI2c({ ...BUS, address: 0x76 }));
  return { model, bus, driver };
}

function measure(driver: Bme280Driver) {
  driver.start();
  return driver.read();
}

describe('BME280 compensation, datasheet worked example (section 8.1 / 4.2.3)', () => {
  it('adc_T 519888 with T1=27504 T2=26435 T3=-1000 gives 2508 (25.08 °C), t_fine 128422', () => {
    expect(compensateTemperature(519888, C)).toEqual({ centi: 2508, tFine: 128422 });
  });

  it('adc_P 415148 at t_fine 128422 gives 100653 Pa', () => {
    expect(Math.round(compensatePressure(415148, 128422, C))).toBe(100653);
  });

  it('humidity: the 32-bit integer formula agrees with the double one within 0.01 %RH', () => {
    const { tFine } = compensateTemperature(519888, C);
    let worst = 0;
    for (let adcH = 20000; adcH <= 40000; adcH += 37) {
      const integer = compensateHumidity(adcH, tFine, C) / 1024;
      worst = Math.max(worst, Math.abs(integer - forwardHumidity(adcH, tFine, C)));
    }
    expect(worst).toBeLessThan(0.01);
  });

  it('humidity is clamped to 0..100 %RH (Q22.10 0..102400)', () => {
    const { tFine } = compensateTemperature(519888, C);
    expect(compensateHumidity(0, tFine, C)).toBe(0);
    expect(compensateHumidity(0xffff, tFine, C)).toBe(102400);
  });
});

describe('BME280 trim registers', () => {
  it('decodes the datasheet trim from the registers the model holds', () => {
    const { model } = setup();
    const a = Uint8Array.from({ length: 26 }, (_, i) => model.register(0x88 + i));
    const b = Uint8Array.from({ length: 7 }, (_, i) => model.register(0xe1 + i));
    expect(parseTrim(a, b)).toEqual(C);
    // Spot check of the layout: dig_T1 = 27504 = 0x6B70, little-endian at 0x88.
    expect([model.register(0x88), model.register(0x89)]).toEqual([0x70, 0x6b]);
  });

  it('decodes negative H4, H5, H6 and H2 sharing register 0xE5', () => {
    const odd = { ...C, H2: -300, H4: -1234, H5: -7, H6: -30, H3: 255 };
    const { model } = setup({ calibration: odd });
    const a = Uint8Array.from({ length: 26 }, (_, i) => model.register(0x88 + i));
    const b = Uint8Array.from({ length: 7 }, (_, i) => model.register(0xe1 + i));
    expect(parseTrim(a, b)).toEqual(odd);
  });
});

describe('Bme280Driver against the chip model', () => {
  it('reads the datasheet example from the data registers: 25.08 °C, 1006.53 hPa', () => {
    const { model, driver } = setup();
    model.raw = { adcT: 519888, adcP: 415148, adcH: 30000 };
    const r = measure(driver);
    expect(r.temperature).toBe(25.08);
    expect(r.pressure).toBeCloseTo(1006.53, 2);
    expect(r.humidity).toBeCloseTo(forwardHumidity(30000, 128422, C), 2);
  });

  it('reads back physical values over the operating range (model inverts the datasheet formulas)', () => {
    const { model, driver } = setup();
    for (const temperature of [-40, -10.5, 0, 21.37, 45, 85]) {
      for (const pressure of [300, 700.25, 1013.25, 1100]) {
        for (const humidity of [0, 12.5, 50, 87.3, 100]) {
          Object.assign(model, { temperature, pressure, humidity });
          const r = measure(driver);
          // One LSB of the integer temperature is 0.01 °C; rounding adds at most another.
          expect(Math.abs(r.temperature - temperature)).toBeLessThanOrEqual(0.02);
          expect(Math.abs(r.pressure - pressure)).toBeLessThan(0.05);
          expect(Math.abs(r.humidity - humidity)).toBeLessThan(0.05);
        }
      }
    }
  });

  it('the model takes (register, value) pairs in one write: ctrl_hum and ctrl_meas both land, the forced conversion runs', () => {
    const model = new Bme280Model();
    expect(model.register(0xfa)).toBe(0x80); // temperature msb at its reset value
    expect(model.write(Uint8Array.of(0xf2, 0x01, 0xf4, 0x25))).toBe(true);
    expect(model.register(0xf2)).toBe(0x01);
    expect(model.register(0xf4)).toBe(0x24); // mode bits back to sleep once the conversion is done
    expect(model.register(0xfa)).not.toBe(0x80);
  });

  it('reads id and trim once, writes ctrl_hum before ctrl_meas (forced, x1) on every start()', () => {
    const { bus, driver } = setup();
    measure(driver);
    measure(driver);
    const writes = bus.log.filter((t) => t.op === 'write').map((t) => t.bytes);
    expect(writes.filter((w) => w[0] === 0xd0)).toHaveLength(1);
    expect(writes.filter((w) => w[0] === 0x88)).toHaveLength(1);
    expect(writes.filter((w) => w[0] === 0xe1)).toHaveLength(1);
    expect(writes.filter((w) => w[0] === 0xf2)).toEqual([
      [0xf2, 0x01, 0xf4, 0x25],
      [0xf2, 0x01, 0xf4, 0x25],
    ]);
  });

  it("throws 'busy' while measuring and reads once the conversion time has passed", () => {
    const clock = new FakeClock();
    const { model, driver } = setup({ clock });
    model.temperature = 30;
    driver.start();
    clock.advance(3);
    expectHalError('busy', () => driver.read());
    clock.advance(driver.conversionMs);
    expect(driver.read().temperature).toBeCloseTo(30, 1);
  });

  it("throws 'busy' for a second read() of the same measurement, never stale data", () => {
    const { driver } = setup();
    measure(driver);
    expectHalError('busy', () => driver.read());
  });

  it("throws 'busy' if the chip was reset after start() (data registers at reset value)", () => {
    const { bus, driver } = setup();
    driver.start();
    // Something else on the bus resets the chip: soft reset word 0xB6 to 0xE0.
    bus.write(0x76, Uint8Array.of(0xe0, 0xb6), true);
    expectHalError('busy', () => driver.read());
  });

  it("throws 'no-device' naming the chip and address when nothing answers", () => {
    const { model, driver } = setup();
    model.answering = false;
    const error = expectHalError('no-device', () => driver.start());
    expect(error.message).toContain('BME280');
    expect(error.message).toContain('0x76');
    // Plugged back in, the same driver works (trim was not cached from the failed attempt).
    model.answering = true;
    expect(measure(driver).temperature).toBeCloseTo(25, 1);
  });

  it("throws 'bad-config' for a BMP280 (chip id 0x58) where the board says BME280", () => {
    const { driver } = setup({ chipId: 0x58 });
    const error = expectHalError('bad-config', () => driver.start());
    expect(error.message).toContain('0x58');
    expect(error.message).toContain('BMP280');
  });

  it("throws 'io' for an implausible reading instead of passing it on", () => {
    const { model, driver } = setup();
    model.raw = { adcT: 0xfffff - 1, adcP: 415148, adcH: 30000 }; // a bus stuck high: ~ 180 °C
    driver.start();
    expectHalError('io', () => driver.read());
  });
});
