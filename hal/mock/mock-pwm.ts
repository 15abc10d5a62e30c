import type { PwmOutput } from '../types';
import { checkDuty, closedError } from '../types';
import type { MockPin } from './mock-pin';

export class MockPwmOutput implements PwmOutput {
  private closed = false;

  constructor(
    private readonly state: MockPin,
    readonly resolution: number,
    readonly hz: number,
  ) {}

  get pin(): number {
    return this.state.pin;
  }

  write(duty: number): void {
    const where = 'PWM on pin ' + this.state.pin;
    if (this.closed) throw closedError(where);
    this.state.duties.push(checkDuty(duty, this.resolution, where));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.releaseClaim();
  }
}
