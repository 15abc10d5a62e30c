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
  private closed_ = false;

  constructor(
    private readonly input_: AnalogInput,
    private readonly calibration_: AnalogCalibration,
  ) {}

  start(): void {
    if (this.closed_) throw closedError('analog sensor ' + this.calibration_.name);
  }

  read(): Readings {
    if (this.closed_) throw closedError('analog sensor ' + this.calibration_.name);
    const readings: Readings = {};
    readings[this.calibration_.name] = this.input_.read() * this.calibration_.scale + this.calibration_.offset;
    return readings;
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.input_.close();
  }
}
