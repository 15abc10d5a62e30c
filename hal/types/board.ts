import type { DigitalInputMode, DigitalOutputMode, Level } from './digital';
import type { I2cBusSpec } from './i2c';

export interface OutputPinDescription {
  pin: number;
  mode: DigitalOutputMode;
  /** Level at power-up; defaults to 0. */
  initial?: Level;
  /** The load is on when the pin is low (many relay boards): the app inverts, the HAL does not. */
  activeLow?: boolean;
}

export interface InputPinDescription {
  pin: number;
  mode: DigitalInputMode;
  /** Debounce window the app applies with its Clock (the HAL has no timers). */
  debounceMs?: number;
  /** Pressed / active when low (a button to ground with a pull-up): the app inverts. */
  activeLow?: boolean;
}

export type PinDescription = OutputPinDescription | InputPinDescription;

export interface PwmDescription {
  pin: number;
  hz?: number;
}

export type I2cSensorKind = 'sht3x' | 'bme280';

export interface I2cSensorDescription {
  kind: I2cSensorKind;
  bus: I2cBusSpec;
  /** 7-bit address: SHT3x 0x44 or 0x45, BME280 0x76 or 0x77. */
  address: number;
}

/** A raw ADC value mapped linearly: value = raw * scale + offset. */
export interface AnalogDescription {
  pin: number;
  scale: number;
  offset: number;
  /** Unit for people and dashboards, e.g. 'V'. */
  unit: string;
  resolution?: number;
}

/**
 * Everything the firmware needs to know about one board, by logical name: the app asks for 'led'
 * or 'relay1', never for pin 2. One of these per board in targets/esp32/boards, one for the
 * simulated board in targets/host.
 */
export interface BoardDescription {
  name: string;
  pins: Record<string, PinDescription>;
  pwm?: Record<string, PwmDescription>;
  sensors?: Record<string, I2cSensorDescription>;
  /** The key is the reading name, e.g. battery_v. */
  analog?: Record<string, AnalogDescription>;
}

export function isOutputPin(description: PinDescription): description is OutputPinDescription {
  return description.mode === 'output' || description.mode === 'output-open-drain';
}
