import { describe, expect, it } from 'vitest';
import type { BoardDescription } from '../../hal/types';
import { isOutputPin } from '../../hal/types';
import { BOARDS, ESP32_ADC1_PINS, ESP32_FLASH_PINS, ESP32_INPUT_ONLY_PINS, dividerScale, selectBoard, withBatteryCalibration } from '../../targets/esp32/boards';
import { SimulatedIo } from '../../targets/esp32/simulated-io';
import { FakeClock } from '../support/fake-clock';
import { openI2cSensor } from '../../hal/drivers';

/** Every GPIO a board description uses, with what uses it. */
function uses(board: BoardDescription): [number, string][] {
  const list: [number, string][] = [];
  for (const [name, d] of Object.entries(board.pins)) list.push([d.pin, 'pin ' + name]);
  for (const [name, d] of Object.entries(board.pwm ?? {})) list.push([d.pin, 'pwm ' + name]);
  for (const [name, d] of Object.entries(board.analog ?? {})) list.push([d.pin, 'analog ' + name]);
  const buses = new Set<string>();
  for (const s of Object.values(board.sensors ?? {})) {
    const key = s.bus.data + '/' + s.bus.clock;
    if (buses.has(key)) continue;
    buses.add(key);
    list.push([s.bus.data, 'i2c data'], [s.bus.clock, 'i2c clock']);
  }
  return list;
}

describe.each(Object.entries(BOARDS))('esp32 board %s', (key, board) => {
  it('names the pins the firmware asks for', () => {
    expect(board.name).toBeTruthy();
    expect(Object.keys(board.pins).sort()).toEqual(['button', 'led', 'relay1', 'relay2']);
    expect(board.pins.button).toMatchObject({ pin: 0, mode: 'input-pullup', activeLow: true });
    expect(board.pins.led).toMatchObject({ pin: 2, mode: 'output' });
    expect(Object.keys(board.analog ?? {})).toEqual(['battery_v']);
    expect(selectBoard(key)).toBe(board);
  });

  it('uses no pin twice and none of the flash pins', () => {
    const all = uses(board);
    const seen = new Map<number, string>();
    for (const [pin, what] of all) {
      expect(seen.has(pin), 'GPIO' + pin + ' used by ' + seen.get(pin) + ' and ' + what).toBe(false);
      seen.set(pin, what);
      expect(ESP32_FLASH_PINS).not.toContain(pin);
      expect(pin).toBeLessThanOrEqual(39);
    }
  });

  it('drives outputs only from pins that can, and reads the battery on ADC1', () => {
    for (const d of Object.values(board.pins)) if (isOutputPin(d)) expect(ESP32_INPUT_ONLY_PINS).not.toContain(d.pin);
    for (const d of Object.values(board.analog ?? {})) expect(ESP32_ADC1_PINS).toContain(d.pin);
  });

  it('puts the SHT3x and BME280 on SDA 21 / SCL 22 at their usual addresses', () => {
    const sensors = board.sensors ?? {};
    expect(Object.values(sensors).map((s) => [s.kind, s.address, s.bus.data, s.bus.clock])).toEqual([
      ['sht3x', 0x44, 21, 22],
      ['bme280', 0x76, 21, 22],
    ]);
  });

  it('opens on the mock IO and reads the simulated sensors', () => {
    const clock = new FakeClock();
    const sim = new SimulatedIo(board, clock, () => 0.5);
    for (const [name, d] of Object.entries(board.pins)) {
      const pin = isOutputPin(d) ? sim.io.openDigitalOutput(d) : sim.io.openDigitalInput(d);
      expect(pin.read(), name).toBe(isOutputPin(d) ? (d.initial ?? 0) : d.mode === 'input-pullup' ? 1 : 0);
      pin.close();
    }
    for (const description of Object.values(board.sensors ?? {})) {
      const sensor = openI2cSensor(sim.io, description);
      sensor.start();
      clock.advance(sensor.conversionMs);
      const values = sensor.read();
      expect(values.temperature).toBeGreaterThan(15);
      expect(values.temperature).toBeLessThan(30);
      sensor.close();
    }
    const battery = board.analog!.battery_v;
    const adc = sim.io.openAnalog({ pin: battery.pin, resolution: battery.resolution });
    const volts = adc.read() * battery.scale + battery.offset;
    expect(volts).toBeGreaterThan(3.8);
    expect(volts).toBeLessThan(4.1);
  });
});

describe('esp32 boards', () => {
  it('refuses an unknown board with the known names', () => {
    expect(() => selectBoard('uno')).toThrow(/board=devkitc or board=nodemcu-32s/);
    expect(selectBoard(undefined)).toBe(BOARDS.devkitc);
  });

  it('computes the divider scale and takes a calibration from the command line', () => {
    expect(dividerScale(100_000, 100_000, 3.3, 12)).toBeCloseTo(6.6 / 4095, 10);
    const b = withBatteryCalibration(BOARDS.devkitc, 0.002, -0.05);
    expect(b.analog!.battery_v).toMatchObject({ scale: 0.002, offset: -0.05, pin: 34 });
    expect(BOARDS.devkitc.analog!.battery_v.scale).not.toBe(0.002);
    expect(withBatteryCalibration(BOARDS.devkitc, undefined, undefined)).toBe(BOARDS.devkitc);
  });
});
