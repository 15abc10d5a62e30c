import type { PwmOutput } from '../types';
import { checkDuty, closedError } from '../types';
import type { MockPin } from './mock-pin';

export class MockPwmOutput implements PwmOutput {
  private closed_ = false;

  constructor(
    private readonly state_: MockPin,
    readonly resolution: number,
    readonly hz: number,
  ) {}

  get pin(): number {
    return this.state_.pin;
  }

  write(duty: number): void {
    const where = 'PWM on pin ' + this.state_.pin;
    if (this.closed_) throw closedError(where);
    this.state_.duties.push(checkDuty(duty, this.resolution, where));
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.state_.releaseClaim();
  }
}
