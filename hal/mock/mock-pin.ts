import type { DigitalInputMode, EdgeCallback, EdgeMask, Level } from '../types';
import { HalError } from '../types';

export type MockPinUse = 'digital-input' | 'digital-output' | 'analog' | 'pwm';

/**
 * The test's side of one pin: what the firmware wrote to it and what the outside world drives
 * onto it. Kept by MockIo for the life of the test, across open/close of the IO objects, so a test
 * can check what happened after the firmware closed the pin.
 */
export class MockPin {
  /** What the pin is open as, or undefined when no IO object holds it. */
  use: MockPinUse | undefined;
  /** Every level a DigitalOutput wrote, in order (including the initial level on open). */
  readonly writes: Level[] = [];
  /** Every duty a PwmOutput wrote, in order. */
  readonly duties: number[] = [];
  /** Number of samples an AnalogInput took. */
  analogReads = 0;

  private driven_: Level | undefined;
  private inputMode_: DigitalInputMode = 'input';
  private edgeMask_: EdgeMask = 0;
  private onEdge_: EdgeCallback | undefined;
  private analogQueue_: number[] = [];
  private analogFunction_: ((sample: number) => number) | undefined;

  constructor(readonly pin: number) {}

  /**
   * Level seen on the wire: what the test drives, else the last output write, else the pull
   * resistor (a floating plain input reads 0).
   */
  get level(): Level {
    if (this.driven_ !== undefined) return this.driven_;
    if (this.use === 'digital-output' && this.writes.length > 0) return this.writes[this.writes.length - 1];
    return this.inputMode_ === 'input-pullup' ? 1 : 0;
  }

  /** Drives the pin from outside (a button, a loopback wire); fires the input's edge callback. */
  setLevel(level: Level): void {
    const before = this.level;
    this.driven_ = level;
    this.fireEdge_(before, level);
  }

  /** Stops driving: the pull resistor decides again (may fire an edge). */
  release(): void {
    const before = this.level;
    this.driven_ = undefined;
    this.fireEdge_(before, this.level);
  }

  /** Analog samples to return in order; the last one repeats. Replaces any function. */
  setAnalog(...values: number[]): void {
    this.analogQueue_ = values.slice();
    this.analogFunction_ = undefined;
  }

  /** Analog samples computed from the sample index (0, 1, 2...). Replaces any queue. */
  setAnalogFunction(fn: (sample: number) => number): void {
    this.analogFunction_ = fn;
    this.analogQueue_ = [];
  }

  /** @internal Used by the mock IO objects. */
  claim(use: MockPinUse): void {
    if (this.use !== undefined) {
      throw new HalError('bad-config', 'pin ' + this.pin + ' is already open as ' + this.use + '; close it first');
    }
    this.use = use;
  }

  /** @internal */
  releaseClaim(): void {
    this.use = undefined;
    this.onEdge_ = undefined;
    this.edgeMask_ = 0;
    this.inputMode_ = 'input';
  }

  /** @internal */
  configureInput(mode: DigitalInputMode, edge: EdgeMask, onEdge: EdgeCallback | undefined): void {
    this.inputMode_ = mode;
    this.edgeMask_ = edge;
    this.onEdge_ = onEdge;
  }

  /** @internal Raw sample before clamping. */
  nextAnalog(): number {
    const index = this.analogReads++;
    if (this.analogFunction_) return this.analogFunction_(index);
    if (this.analogQueue_.length > 1) return this.analogQueue_.shift() as number;
    return this.analogQueue_.length === 1 ? this.analogQueue_[0] : 0;
  }

  private fireEdge_(before: Level, after: Level): void {
    if (before === after || this.use !== 'digital-input' || !this.onEdge_) return;
    const edge = after === 1 ? 1 : 2; // Rising = 1, Falling = 2 as in ECMA-419
    if ((this.edgeMask_ & edge) !== 0) this.onEdge_(after);
  }
}
