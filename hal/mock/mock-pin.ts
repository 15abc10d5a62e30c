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

  private driven: Level | undefined;
  private inputMode: DigitalInputMode = 'input';
  private edgeMask: EdgeMask = 0;
  private onEdge: EdgeCallback | undefined;
  private analogQueue: number[] = [];
  private analogFunction: ((sample: number) => number) | undefined;

  constructor(readonly pin: number) {}

  /**
   * Level seen on the wire: what the test drives, else the last output write, else the pull
   * resistor (a floating plain input reads 0).
   */
  get level(): Level {
    if (this.driven !== undefined) return this.driven;
    if (this.use === 'digital-output' && this.writes.length > 0) return this.writes[this.writes.length - 1];
    return this.inputMode === 'input-pullup' ? 1 : 0;
  }

  /** Drives the pin from outside (a button, a loopback wire); fires the input's edge callback. */
  setLevel(level: Level): void {
    const before = this.level;
    this.driven = level;
    this.fireEdge(before, level);
  }

  /** Stops driving: the pull resistor decides again (may fire an edge). */
  release(): void {
    const before = this.level;
    this.driven = undefined;
    this.fireEdge(before, this.level);
  }

  /** Analog samples to return in order; the last one repeats. Replaces any function. */
  setAnalog(...values: number[]): void {
    this.analogQueue = values.slice();
    this.analogFunction = undefined;
  }

  /** Analog samples computed from the sample index (0, 1, 2...). Replaces any queue. */
  setAnalogFunction(fn: (sample: number) => number): void {
    this.analogFunction = fn;
    this.analogQueue = [];
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
    this.onEdge = undefined;
    this.edgeMask = 0;
    this.inputMode = 'input';
  }

  /** @internal */
  configureInput(mode: DigitalInputMode, edge: EdgeMask, onEdge: EdgeCallback | undefined): void {
    this.inputMode = mode;
    this.edgeMask = edge;
    this.onEdge = onEdge;
  }

  /** @internal Raw sample before clamping. */
  nextAnalog(): number {
    const index = this.analogReads++;
    if (this.analogFunction) return this.analogFunction(index);
    if (this.analogQueue.length > 1) return this.analogQueue.shift() as number;
    return this.analogQueue.length === 1 ? this.analogQueue[0] : 0;
  }

  private fireEdge(before: Level, after: Level): void {
    if (before === after || this.use !== 'digital-input' || !this.onEdge) return;
    const edge = after === 1 ? 1 : 2; // Rising = 1, Falling = 2 as in ECMA-419
    if ((this.edgeMask & edge) !== 0) this.onEdge(after);
  }
}
