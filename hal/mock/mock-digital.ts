import type { DigitalInput, DigitalOutput, Level } from '../types';
import { checkLevel, closedError } from '../types';
import type { MockPin } from './mock-pin';

export class MockDigitalInput implements DigitalInput {
  private closed_ = false;

  constructor(private readonly state_: MockPin) {}

  get pin(): number {
    return this.state_.pin;
  }

  read(): Level {
    if (this.closed_) throw closedError('digital input on pin ' + this.state_.pin);
    return this.state_.level;
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.state_.releaseClaim();
  }
}

export class MockDigitalOutput implements DigitalOutput {
  private closed_ = false;
  private last_: Level;

  constructor(
    private readonly state_: MockPin,
    initial: Level,
  ) {
    this.last_ = initial;
    state_.writes.push(initial);
  }

  get pin(): number {
    return this.state_.pin;
  }

  write(level: Level): void {
    if (this.closed_) throw closedError('digital output on pin ' + this.state_.pin);
    this.last_ = checkLevel(level, 'digital output on pin ' + this.state_.pin);
    this.state_.writes.push(this.last_);
  }

  read(): Level {
    if (this.closed_) throw closedError('digital output on pin ' + this.state_.pin);
    return this.last_;
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.state_.releaseClaim();
  }
}
