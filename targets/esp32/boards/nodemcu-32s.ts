import type { BoardDescription } from '../../../hal/types';
import { dividerScale } from './calibration';

const I2C = { data: 21, clock: 22, hz: 100_000 };

/**
 * Ai-Thinker NodeMCU-32S. Blue user LED on GPIO2 (lit when high); BOOT button on GPIO0 to ground.
 * Relays on GPIO26/27 (active-low modules), I2C SDA 21 / SCL 22 with an SHT3x at 0x44 and a BME280
 * at 0x76, battery through a 100k/100k divider into GPIO35 (ADC1, input only).
 */
export const nodemcu32s: BoardDescription = Object.freeze({
  name: 'nodemcu-32s',
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
    battery_v: { pin: 35, scale: dividerScale(100_000, 100_000), offset: 0, unit: 'V', resolution: 12 },
  },
}) as BoardDescription;
