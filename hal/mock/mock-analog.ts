import type { AnalogInput } from '../types';
import { closedError } from '../types';
import type { MockPin } from './mock-pin';

/** Samples come from the pin's script, rounded and clamped like a real ADC would. */
export class MockAnalogInput implements AnalogInput {
  private closed = false;

  constructor(
    private readonly state: MockPin,
    readonly resolution: number,
  ) {}

  get pin(): number {
    return this.state.pin;
  }

  read(): number {
    if (this.closed) throw closedError('analog input on pin ' + this.state.pin);
    const max = 2 ** this.resolution - 1;
    const raw = Math.round(this.state.nextAnalog());
    return raw < 0 ? 0 : raw > max ? max : raw;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.releaseClaim();
  }
}
