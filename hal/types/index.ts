export type { AnalogInput, AnalogSpec } from './analog';
export type {
  AnalogDescription,
  BoardDescription,
  I2cSensorDescription,
  I2cSensorKind,
  InputPinDescription,
  OutputPinDescription,
  PinDescription,
  PwmDescription,
} from './board';
export { isOutputPin } from './board';
export type {
  DigitalInput,
  DigitalInputMode,
  DigitalInputSpec,
  DigitalOutput,
  DigitalOutputMode,
  DigitalOutputSpec,
  EdgeCallback,
  EdgeMask,
  Level,
} from './digital';
export { Edge } from './digital';
export { HalError, isHalError } from './errors';
export type { HalErrorCode } from './errors';
export type { I2cBusSpec, I2cDevice, I2cSpec } from './i2c';
export { describeI2c, hex2 } from './i2c';
export type { IoFactory } from './io-factory';
export type { PwmOutput, PwmSpec } from './pwm';
export type { Readings, Sensor } from './sensor';
export { checkDuty, checkLevel, checkPin, closedError } from './checks';
