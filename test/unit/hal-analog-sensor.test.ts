import { describe, expect, it } from 'vitest';
import { AnalogSensor, Bme280Driver, Sht3xDriver, openAnalogSensor, openI2cSensor } from '../../hal/drivers';
import { Bme280Model, MockIo, Sht3xModel } from '../../hal/mock';
import type { BoardDescription } from '../../hal/types';
import { isOutputPin } from '../../hal/types';
import { expectHalError } from '../contract/expect-hal-error';

const board: BoardDescription = {
  name: 'test board',
  pins: {
    led: { pin: 2, mode: 'output' },
    relay1: { pin: 26, mode: 'output', activeLow: true, initial: 1 },
    button: { pin: 0, mode: 'input-pullup', debounceMs: 30, activeLow: true },
  },
  sensors: {
    climate: { kind: 'sht3x', bus: { data: 21, clock: 22, hz: 100_000 }, address: 0x44 },
    weather: { kind: 'bme280', bus: { data: 21, clock: 22, hz: 100_000 }, address: 0x76 },
  },
  // A 1:2 divider on a 12-bit ADC with 3.3 V full scale: volts = raw * 3.3 / 4095 * 2.
  analog: { battery_v: { pin: 35, scale: (3.3 / 4095) * 2, offset: 0, unit: 'V' } },
};

describe('AnalogSensor', () => {
  it('applies value = raw * scale + offset under the reading name', () => {
    const io = new MockIo();
    io.pin(35).setAnalog(2048, 4095);
    const sensor = openAnalogSensor(io, 'battery_v', board.analog!.battery_v);
    expect(sensor.conversionMs).toBe(0);
    sensor.start();
    expect(sensor.read().battery_v).toBeCloseTo(3.30081, 5);
    expect(sensor.read().battery_v).toBeCloseTo(6.6, 10);
  });

  it('applies a negative offset', () => {
    const io = new MockIo();
    io.pin(36).setAnalog(1000);
    const sensor = new AnalogSensor(io.openAnalog({ pin: 36 }), { name: 'temp_c', scale: 0.1, offset: -50 });
    expect(sensor.read()).toEqual({ temp_c: 50 });
  });

  it('releases the pin on close()', () => {
    const io = new MockIo();
    const sensor = openAnalogSensor(io, 'battery_v', board.analog!.battery_v);
    expect(io.openPins()).toEqual([35]);
    sensor.close();
    expect(io.openPins()).toEqual([]);
    expectHalError('closed', () => sensor.read());
  });
});

describe('opening a board description', () => {
  it('opens each I2C sensor with the driver of its kind, on its bus and address', () => {
    const io = new MockIo();
    const bus = io.bus(21, 22);
    bus.attach(0x44, new Sht3xModel());
    bus.attach(0x76, new Bme280Model());
    const climate = openI2cSensor(io, board.sensors!.climate);
    const weather = openI2cSensor(io, board.sensors!.weather);
    expect(climate).toBeInstanceOf(Sht3xDriver);
    expect(weather).toBeInstanceOf(Bme280Driver);
    climate.start();
    weather.start();
    expect(Object.keys(climate.read()).sort()).toEqual(['humidity', 'temperature']);
    expect(Object.keys(weather.read()).sort()).toEqual(['humidity', 'pressure', 'temperature']);
  });

  it("refuses an unknown sensor kind with 'bad-config'", () => {
    const io = new MockIo();
    expectHalError('bad-config', () => openI2cSensor(io, { ...board.sensors!.climate, kind: 'dht22' as never }));
  });

  it('tells output pins from input pins', () => {
    expect(Object.keys(board.pins).filter((name) => isOutputPin(board.pins[name]))).toEqual(['led', 'relay1']);
  });
});
