import Digital from 'embedded:io/digital';
import type { DigitalInput, DigitalInputMode, DigitalOutput, DigitalOutputMode, EdgeCallback, EdgeMask, Level } from '../types';
import { checkLevel, closedError } from '../types';
import { openFailed } from './platform-error';

type DigitalClass = typeof Digital;

function inputMode(io: DigitalClass, mode: DigitalInputMode) {
  if (mode === 'input-pullup') return io.InputPullUp;
  if (mode === 'input-pulldown') return io.InputPullDown;
  return io.Input;
}

function outputMode(io: DigitalClass, mode: DigitalOutputMode | undefined) {
  return mode === 'output-open-drain' ? io.OutputOpenDrain : io.Output;
}

/** ECMA-419 Digital as a DigitalInput; the edge callback gets the level read when it runs. */
export class ModdableDigitalInput implements DigitalInput {
  private readonly io_: Digital;
  private closed_ = false;

  constructor(io: DigitalClass, readonly pin: number, mode: DigitalInputMode, edge: EdgeMask, onEdge: EdgeCallback | undefined) {
    const what = 'digital input on pin ' + pin;
    try {
      if (onEdge && edge !== 0) {
        // onReadable is called with `this` = the Digital instance; the level is read here so the
        // app gets a value even if the contact bounced since the interrupt.
        this.io_ = new io({
          pin,
          mode: inputMode(io, mode),
          edge,
          onReadable: () => {
            if (!this.closed_) onEdge(this.io_.read());
          },
        });
      } else {
        this.io_ = new io({ pin, mode: inputMode(io, mode) });
      }
    } catch (error) {
      throw openFailed(what, error);
    }
  }

  read(): Level {
    if (this.closed_) throw closedError('digital input on pin ' + this.pin);
    return this.io_.read();
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.io_.close();
  }
}

/** ECMA-419 Digital as a DigitalOutput; read() returns the last level written. */
export class ModdableDigitalOutput implements DigitalOutput {
  private readonly io_: Digital;
  private closed_ = false;
  private last_: Level;

  constructor(io: DigitalClass, readonly pin: number, mode: DigitalOutputMode | undefined, initial: Level) {
    try {
      this.io_ = new io({ pin, mode: outputMode(io, mode) });
      this.io_.write(initial);
    } catch (error) {
      throw openFailed('digital output on pin ' + pin, error);
    }
    this.last_ = initial;
  }

  write(level: Level): void {
    const where = 'digital output on pin ' + this.pin;
    if (this.closed_) throw closedError(where);
    this.io_.write(checkLevel(level, where));
    this.last_ = level;
  }

  read(): Level {
    if (this.closed_) throw closedError('digital output on pin ' + this.pin);
    return this.last_;
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.io_.close();
  }
}
