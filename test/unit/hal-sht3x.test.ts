import { describe, expect, it } from 'vitest';
import { Sht3xDriver, sht3xHumidity, sht3xTemperature } from '../../hal/drivers';
import { MockIo, Sht3xModel } from '../../hal/mock';
import { HalError } from '../../hal/types';
import { expectHalError } from '../contract/expect-hal-error';
import { FakeClock } from '../support/fake-clock';

const BUS = { data: 21, clock: 22, hz: 100_000 };

function setup(clock?: FakeClock) {
  const io = new MockIo();
  const model = new Sht3xModel(clock);
  const bus = io.bus(BUS.data, BUS.clock);
  bus.attach(0x44, model);
  const driver = new Sht3xDriver(io.openI2c({ ...BUS, address: 0x44 }));
  return { io, model, bus, driver };
}

function measure(driver: Sht3xDriver) {
  driver.start();
  return driver.read();
}

describe('SHT3x conversion (datasheet section 4.13)', () => {
  it('maps the raw range end points to -45..130 °C and 0..100 %RH', () => {
    expect(sht3xTemperature(0)).toBe(-45);
    expect(sht3xTemperature(0xffff)).toBe(130);
    expect(sht3xHumidity(0)).toBe(0);
    expect(sht3xHumidity(0xffff)).toBe(100);
  });

  it('maps 0x6666 to exactly 25 °C (26214 / 65535 = 0.4) and 0x8000 to 50.0008 %RH', () => {
    expect(sht3xTemperature(0x6666)).toBeCloseTo(25, 10);
    expect(sht3xHumidity(0x8000)).toBeCloseTo(50.00076, 5);
  });
});

describe('Sht3xDriver against the chip model', () => {
  it('sends the single-shot high-repeatability command 0x2400 and reads 6 bytes', () => {
    const { bus, model, driver } = setup();
    measure(driver);
    expect(model.commands).toEqual([0x2400]);
    expect(bus.log.map((t) => [t.op, t.op === 'write' ? t.bytes : t.bytes.length])).toEqual([
      ['write', [0x24, 0x00]],
      ['read', 6],
    ]);
  });

  it('decodes the register bytes 66 66 93 80 00 A2 to 25 °C and 50.0008 %RH', () => {
    const { bus, model, driver } = setup();
    model.rawTemperature = 0x6666;
    model.rawHumidity = 0x8000;
    const readings = measure(driver);
    // The bytes on the wire, with the CRCs computed by the model's own CRC copy.
    expect(bus.log[1].bytes).toEqual([0x66, 0x66, 0x93, 0x80, 0x00, 0xa2]);
    expect(readings.temperature).toBeCloseTo(25, 10);
    expect(readings.humidity).toBeCloseTo(50.00076, 5);
  });

  it('reports physical values within one raw step (0.0027 °C, 0.0016 %RH)', () => {
    const { model, driver } = setup();
    for (const [t, h] of [[-40, 0], [-12.34, 5.5], [0, 33.3], [21.7, 45.2], [60, 99.9], [125, 100]]) {
      model.setTemperature(t);
      model.setHumidity(h);
      const readings = measure(driver);
      expect(Math.abs(readings.temperature - t)).toBeLessThanOrEqual(175 / 65535 / 2 + 1e-9);
      expect(Math.abs(readings.humidity - h)).toBeLessThanOrEqual(100 / 65535 / 2 + 1e-9);
    }
  });

  for (const which of ['temperature', 'humidity', 'both'] as const) {
    it("throws 'crc' and no number when the " + which + ' CRC is wrong', () => {
      const { model, driver } = setup();
      model.corruptCrc = which;
      driver.start();
      const error = expectHalError('crc', () => driver.read());
      expect(error.message).toContain('0x44');
      expect(error.message).toContain(which === 'humidity' ? 'humidity' : 'temperature');
      // The next measurement with a good CRC reads fine: the driver keeps no bad state.
      model.corruptCrc = 'none';
      expect(measure(driver).temperature).toBeCloseTo(25, 10);
    });
  }

  it("throws 'no-device' naming chip, address and wires when nothing answers at 0x44", () => {
    const { model, driver } = setup();
    model.answering = false;
    const error = expectHalError('no-device', () => driver.start());
    expect(error.message).toContain('SHT3x');
    expect(error.message).toContain('0x44');
    expect(error.message).toContain('data 21');
    expect(error.message).toContain('clock 22');
  });

  it("throws 'no-device' for a chip at another address (0x45 wired, 0x44 configured)", () => {
    const io = new MockIo();
    io.bus(21, 22).attach(0x45, new Sht3xModel());
    const driver = new Sht3xDriver(io.openI2c({ ...BUS, address: 0x44 }));
    expectHalError('no-device', () => driver.start());
  });

  it("throws 'busy' when read too early, and measures again after a new start()", () => {
    const clock = new FakeClock();
    const { driver } = setup(clock);
    driver.start();
    clock.advance(5);
    expectHalError('busy', () => driver.read());
    driver.start();
    clock.advance(driver.conversionMs);
    expect(driver.read().temperature).toBeCloseTo(25, 10);
  });

  it("a read that found it 'busy' can be tried again for the same measurement; one result per start()", () => {
    const clock = new FakeClock();
    const { driver } = setup(clock);
    driver.start();
    clock.advance(15); // the chip needs up to 15.5 ms
    expectHalError('busy', () => driver.read());
    clock.advance(1);
    expect(driver.read().temperature).toBeCloseTo(25, 10);
    expectHalError('busy', () => driver.read()); // consumed: no second result without start()
  });

  it('waits past the datasheet maximum (15.5 ms), for a host timer that fires a little early', () => {
    const { driver } = setup();
    expect(driver.conversionMs).toBeGreaterThanOrEqual(15.5 + 2);
  });

  it("throws 'busy' when the chip vanishes between start() and read()", () => {
    const { model, driver } = setup();
    driver.start();
    model.answering = false;
    const error = expectHalError('busy', () => driver.read());
    expect(error.cause).toBeInstanceOf(HalError);
  });

  it('closes its I2C device', () => {
    const { bus, driver } = setup();
    driver.close();
    expectHalError('closed', () => driver.start());
    expect(bus.log).toEqual([]);
  });
});
