import Analog from 'embedded:io/analog';
import Digital from 'embedded:io/digital';
import I2C from 'embedded:io/i2c';
import PWM from 'embedded:io/pwm';
import type {
  AnalogInput,
  AnalogSpec,
  DigitalInput,
  DigitalInputSpec,
  DigitalOutput,
  DigitalOutputSpec,
  EdgeCallback,
  I2cDevice,
  I2cSpec,
  IoFactory,
  PwmOutput,
  PwmSpec,
} from '../types';
import { Edge, checkLevel, checkPin } from '../types';
import { ModdableAnalogInput } from './analog';
import { ModdableDigitalInput, ModdableDigitalOutput } from './digital';
import { ModdableI2cDevice } from './i2c';
import { ModdablePwmOutput } from './pwm';

/**
 * The IO classes to use. Defaults to embedded:io/*; a target may pass `device.io` from
 * embedded:provider/builtin, or a test its own fakes (as j5e does).
 */
export interface ModdableIoClasses {
  Digital: typeof Digital;
  Analog: typeof Analog;
  PWM: typeof PWM;
  I2C: typeof I2C;
}

/** IoFactory over Moddable's ECMA-419 classes. Construct at run time (in main), not at preload. */
export class ModdableIo implements IoFactory {
  private readonly classes_: ModdableIoClasses;

  constructor(classes?: Partial<ModdableIoClasses>) {
    this.classes_ = {
      Digital: classes?.Digital ?? Digital,
      Analog: classes?.Analog ?? Analog,
      PWM: classes?.PWM ?? PWM,
      I2C: classes?.I2C ?? I2C,
    };
  }

  openDigitalInput(spec: DigitalInputSpec, onEdge?: EdgeCallback): DigitalInput {
    const pin = checkPin(spec.pin, 'digital input');
    return new ModdableDigitalInput(this.classes_.Digital, pin, spec.mode, onEdge ? (spec.edge ?? Edge.Both) : 0, onEdge);
  }

  openDigitalOutput(spec: DigitalOutputSpec): DigitalOutput {
    const pin = checkPin(spec.pin, 'digital output');
    const initial = checkLevel(spec.initial ?? 0, 'digital output on pin ' + pin + ' (initial)');
    return new ModdableDigitalOutput(this.classes_.Digital, pin, spec.mode, initial);
  }

  openAnalog(spec: AnalogSpec): AnalogInput {
    return new ModdableAnalogInput(this.classes_.Analog, checkPin(spec.pin, 'analog input'), spec.resolution);
  }

  openPwm(spec: PwmSpec): PwmOutput {
    return new ModdablePwmOutput(this.classes_.PWM, checkPin(spec.pin, 'PWM'), spec.hz);
  }

  openI2c(spec: I2cSpec): I2cDevice {
    checkPin(spec.data, 'I2C data');
    checkPin(spec.clock, 'I2C clock');
    return new ModdableI2cDevice(this.classes_.I2C, spec);
  }
}
