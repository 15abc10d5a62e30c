import PWM from 'embedded:io/pwm';
import type { PwmOutput } from '../types';
import { checkDuty, closedError } from '../types';
import { openFailed } from './platform-error';

/** @moddable/typings 5.6.0 omits close() on PWM; Moddable's class has it. */
type ClosablePwm = PWM & { close(): void };

export class ModdablePwmOutput implements PwmOutput {
  private readonly io_: ClosablePwm;
  private closed_ = false;
  readonly resolution: number;
  readonly hz: number;

  constructor(io: typeof PWM, readonly pin: number, hz: number | undefined) {
    try {
      this.io_ = (hz === undefined ? new io({ pin }) : new io({ pin, hz })) as ClosablePwm;
    } catch (error) {
      throw openFailed('PWM on pin ' + pin, error);
    }
    this.resolution = this.io_.resolution;
    this.hz = this.io_.hz;
  }

  write(duty: number): void {
    const where = 'PWM on pin ' + this.pin;
    if (this.closed_) throw closedError(where);
    // Checked here so the device refuses the same values as the mock, with the same code.
    this.io_.write(checkDuty(duty, this.resolution, where));
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.io_.close();
  }
}
