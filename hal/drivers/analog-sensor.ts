import type { AnalogInput, Readings, Sensor } from '../types';
import { closedError } from '../types';

export interface AnalogCalibration {
  /** Name of the single reading, e.g. 'battery_v'. */
  name: string;
  scale: number;
  offset: number;
}

/**
 * An analog input with linear calibration: value = raw * scale + offset. Measures in read() (an
 * ADC sample takes microseconds), so conversionMs is 0 and start() does nothing.
 */
export class AnalogSensor implements Sensor {
  readonly kind = 'analog';
  readonly conversionMs = 0;
  private closed = false;

  constructor(
    private readonly input: AnalogInput,
    private readonly calibration: AnalogCalibration,
  ) {}

  start(): void {
    if (this.closed) throw closedError('analog sensor ' + this.calibration.name);
  }

  read(): Readings {
    if (this.closed) throw closedError('analog sensor ' + this.calibration.name);
    const readings: Readings = {};
    readings[this.calibration.name] = this.input.read() * this.calibration.scale + this.calibration.offset;
    return readings;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.input.close();
  }
}
