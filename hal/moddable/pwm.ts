import PWM from 'embedded:io/pwm';
import type { PwmOutput } from '../types';
import { checkDuty } from '../types';
import { IoHandle } from './adapter';

/** @moddable/typings 5.6.0 omits close() on PWM; Moddable's class has it. */
type ClosablePwm = PWM & { close(): void };

export class ModdablePwmOutput implements PwmOutput {
  private readonly handle_: IoHandle<ClosablePwm>;
  readonly resolution: number;
  readonly hz: number;

  constructor(io: typeof PWM, readonly pin: number, hz: number | undefined) {
    this.handle_ = new IoHandle('PWM on pin ' + pin, () => (hz === undefined ? new io({ pin }) : new io({ pin, hz })) as ClosablePwm);
    this.resolution = this.handle_.io.resolution;
    this.hz = this.handle_.io.hz;
  }

  write(duty: number): void {
    const pwm = this.handle_.io;
    // Checked here so the device refuses the same values as the mock, with the same code.
    pwm.write(checkDuty(duty, this.resolution, this.handle_.where));
  }

  close(): void {
    this.handle_.close();
  }
}
