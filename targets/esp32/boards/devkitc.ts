import type { BoardDescription } from '../../../hal/types';
import { dividerScale } from './calibration';

const I2C = { data: 21, clock: 22, hz: 100_000 };

/**
 * Espressif ESP32-DevKitC (V4, WROOM-32). The board has only a power LED: `led` is GPIO2 for an
 * external LED (330 ohm to ground; GPIO2 is a strapping pin, so nothing may pull it high at boot).
 * `button` is the BOOT button (GPIO0 to ground, external pull-up on the board; the internal one is
 * enabled too). Relays on GPIO26/27 (common active-low modules). I2C on the ESP32 defaults
 * (SDA 21, SCL 22) with an SHT3x at 0x44 and a BME280 at 0x76. Battery through a 100k/100k divider
 * into GPIO34 (ADC1, input only).
 */
export const devkitc: BoardDescription = Object.freeze({
  name: 'esp32-devkitc',
  pins: {
    led: { pin: 2, mode: 'output' },
    button: { pin: 0, mode: 'input-pullup', activeLow: true, debounceMs: 30 },
    relay1: { pin: 26, mode: 'output', activeLow: true, initial: 1 },
    relay2: { pin: 27, mode: 'output', activeLow: true, initial: 1 },
  },
  sensors: {
    climate: { kind: 'sht3x', bus: I2C, address: 0x44 },
    ambient: { kind: 'bme280', bus: I2C, address: 0x76 },
  },
  analog: {
    battery_v: { pin: 34, scale: dividerScale(100_000, 100_000), offset: 0, unit: 'V', resolution: 12 },
  },
}) as BoardDescription;
