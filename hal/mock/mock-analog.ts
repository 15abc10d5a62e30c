import type { AnalogInput } from '../types';
import { closedError } from '../types';
import type { MockPin } from './mock-pin';

/** Samples come from the pin's script, rounded and clamped like a real ADC would. */
export class MockAnalogInput implements AnalogInput {
  private closed_ = false;

  constructor(
    private readonly state_: MockPin,
    readonly resolution: number,
  ) {}

  get pin(): number {
    return this.state_.pin;
  }

  read(): number {
    if (this.closed_) throw closedError('analog input on pin ' + this.state_.pin);
    const max = 2 ** this.resolution - 1;
    const raw = Math.round(this.state_.nextAnalog());
    return raw < 0 ? 0 : raw > max ? max : raw;
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.state_.releaseClaim();
  }
}
