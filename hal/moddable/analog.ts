import Analog from 'embedded:io/analog';
import type { AnalogInput } from '../types';
import { closedError } from '../types';
import { openFailed } from './platform-error';

/** @moddable/typings 5.6.0 omits close() on Analog, PWM and I2C; Moddable's classes have it. */
type Closable<T> = T & { close(): void };

export class ModdableAnalogInput implements AnalogInput {
  private readonly io_: Closable<Analog>;
  private closed_ = false;
  readonly resolution: number;

  constructor(io: typeof Analog, readonly pin: number, resolution: number | undefined) {
    try {
      this.io_ = (resolution === undefined ? new io({ pin }) : new io({ pin, resolution })) as Closable<Analog>;
    } catch (error) {
      throw openFailed('analog input on pin ' + pin, error);
    }
    this.resolution = this.io_.resolution;
  }

  read(): number {
    if (this.closed_) throw closedError('analog input on pin ' + this.pin);
    return this.io_.read();
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.io_.close();
  }
}
