export { ModdableIo } from './moddable-io';
export type { ModdableIoClasses } from './moddable-io';
export { ModdableAnalogInput } from './analog';
export { ModdableDigitalInput, ModdableDigitalOutput } from './digital';
export { ModdableI2cDevice } from './i2c';
export { ModdablePwmOutput } from './pwm';
