import type { AnalogDescription, I2cSensorDescription, IoFactory, Sensor } from '../types';
import { HalError } from '../types';
import { AnalogSensor } from './analog-sensor';
import { Bme280Driver } from './bme280';
import { Sht3xDriver } from './sht3x';

/** Opens the I2C device a board description names and wraps it in the matching driver. */
export function openI2cSensor(io: IoFactory, description: I2cSensorDescription): Sensor {
  const device = io.openI2c({ ...description.bus, address: description.address });
  switch (description.kind) {
    case 'sht3x':
      return new Sht3xDriver(device);
    case 'bme280':
      return new Bme280Driver(device);
    default:
      device.close();
      throw new HalError('bad-config', 'unknown sensor kind ' + String((description as { kind: unknown }).kind));
  }
}

/** Opens an analog input from a board description; the reading is called `name`. */
export function openAnalogSensor(io: IoFactory, name: string, description: AnalogDescription): Sensor {
  const input = io.openAnalog({ pin: description.pin, resolution: description.resolution });
  return new AnalogSensor(input, { name, scale: description.scale, offset: description.offset });
}
