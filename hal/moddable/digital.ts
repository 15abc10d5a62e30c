import Digital from 'embedded:io/digital';
import type { DigitalInput, DigitalInputMode, DigitalOutput, DigitalOutputMode, EdgeCallback, EdgeMask, Level } from '../types';
import { checkLevel } from '../types';
import { IoHandle } from './adapter';

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
  private readonly handle_: IoHandle<Digital>;

  constructor(io: DigitalClass, readonly pin: number, mode: DigitalInputMode, edge: EdgeMask, onEdge: EdgeCallback | undefined) {
    this.handle_ = new IoHandle('digital input on pin ' + pin, () =>
      onEdge && edge !== 0
        ? // The level is read when the callback runs, so the app gets a value even if the contact
          // bounced since the interrupt.
          new io({
            pin,
            mode: inputMode(io, mode),
            edge,
            onReadable: () => {
              if (this.handle_.isOpen) onEdge(this.handle_.io.read());
            },
          })
        : new io({ pin, mode: inputMode(io, mode) }),
    );
  }

  read(): Level {
    return this.handle_.io.read();
  }

  close(): void {
    this.handle_.close();
  }
}

/** ECMA-419 Digital as a DigitalOutput; read() returns the last level written (Moddable's throws). */
export class ModdableDigitalOutput implements DigitalOutput {
  private readonly handle_: IoHandle<Digital>;
  private last_: Level;

  constructor(io: DigitalClass, readonly pin: number, mode: DigitalOutputMode | undefined, initial: Level) {
    this.handle_ = new IoHandle('digital output on pin ' + pin, () => {
      // Moddable drives a new output low; the initial level follows at once.
      const digital = new io({ pin, mode: outputMode(io, mode) });
      digital.write(initial);
      return digital;
    });
    this.last_ = initial;
  }

  write(level: Level): void {
    this.handle_.io.write(checkLevel(level, this.handle_.where));
    this.last_ = level;
  }

  read(): Level {
    // The getter throws HalError 'closed' after close(); Moddable's read() of an output would throw.
    return this.handle_.io && this.last_;
  }

  close(): void {
    this.handle_.close();
  }
}
