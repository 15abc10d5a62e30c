import type { AnalogInput, AnalogSpec } from './analog';
import type { DigitalInput, DigitalInputSpec, DigitalOutput, DigitalOutputSpec, EdgeCallback } from './digital';
import type { I2cDevice, I2cSpec } from './i2c';
import type { PwmOutput, PwmSpec } from './pwm';

/**
 * Opens IO without the caller knowing the platform: implemented by hal/mock (tests, simulator)
 * and hal/moddable (ECMA-419 on the device). Every open* throws HalError 'bad-config' when the pin
 * is in use or the platform refuses the options.
 */
export interface IoFactory {
  openDigitalInput(spec: DigitalInputSpec, onEdge?: EdgeCallback): DigitalInput;
  openDigitalOutput(spec: DigitalOutputSpec): DigitalOutput;
  openAnalog(spec: AnalogSpec): AnalogInput;
  openPwm(spec: PwmSpec): PwmOutput;
  openI2c(spec: I2cSpec): I2cDevice;
}
