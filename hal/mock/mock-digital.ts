import type { DigitalInput, DigitalOutput, Level } from '../types';
import { checkLevel, closedError } from '../types';
import type { MockPin } from './mock-pin';

export class MockDigitalInput implements DigitalInput {
  private closed = false;

  constructor(private readonly state: MockPin) {}

  get pin(): number {
    return this.state.pin;
  }

  read(): Level {
    if (this.closed) throw closedError('digital input on pin ' + this.state.pin);
    return this.state.level;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.releaseClaim();
  }
}

export class MockDigitalOutput implements DigitalOutput {
  private closed = false;
  private last: Level;

  constructor(
    private readonly state: MockPin,
    initial: Level,
  ) {
    this.last = initial;
    state.writes.push(initial);
  }

  get pin(): number {
    return this.state.pin;
  }

  write(level: Level): void {
    if (this.closed) throw closedError('digital output on pin ' + this.state.pin);
    this.last = checkLevel(level, 'digital output on pin ' + this.state.pin);
    this.state.writes.push(this.last);
  }

  read(): Level {
    if (this.closed) throw closedError('digital output on pin ' + this.state.pin);
    return this.last;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.releaseClaim();
  }
}
