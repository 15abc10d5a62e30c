export { AnalogSensor } from './analog-sensor';
export type { AnalogCalibration } from './analog-sensor';
export { Bme280Driver } from './bme280';
export { compensateHumidity, compensatePressure, compensateTemperature, parseTrim } from './bme280-compensation';
export type { Bme280Trim } from './bme280-compensation';
export { openAnalogSensor, openI2cSensor } from './open-sensor';
export { sensirionCrc8 } from './sensirion-crc';
export { Sht3xDriver, sht3xHumidity, sht3xTemperature } from './sht3x';
