import type { BoardDescription } from '../../../hal/types';
import { deepFreeze } from '../../../src/platform/freeze';
import { dividerScale, ESP32_ADC_BITS } from './calibration';

/**
 * The layout both supported boards share, built once here so the bundle carries it once: LED on
 * GPIO2, the BOOT button on GPIO0 (to ground; the internal pull-up is enabled too), active-low
 * relay modules on GPIO26/27, I2C on the ESP32 defaults (SDA 21, SCL 22) with an SHT3x at 0x44
 * and a BME280 at 0x76, and a battery through a 100k/100k divider into `batteryPin` (ADC1).
 */
export function esp32Board(name: string, batteryPin: number): BoardDescription {
  const bus = { data: 21, clock: 22, hz: 100_000 };
  // Deeply frozen: a preloaded table that stays writable costs RAM on the device (xsl: not frozen).
  return deepFreeze({
    name,
    pins: {
      led: { pin: 2, mode: 'output' },
      button: { pin: 0, mode: 'input-pullup', activeLow: true, debounceMs: 30 },
      relay1: { pin: 26, mode: 'output', activeLow: true, initial: 1 },
      relay2: { pin: 27, mode: 'output', activeLow: true, initial: 1 },
    },
    sensors: {
      climate: { kind: 'sht3x', bus, address: 0x44 },
      ambient: { kind: 'bme280', bus, address: 0x76 },
    },
    analog: {
      battery_v: { pin: batteryPin, scale: dividerScale(100_000, 100_000), offset: 0, unit: 'V', resolution: ESP32_ADC_BITS },
    },
  }) as BoardDescription;
}
