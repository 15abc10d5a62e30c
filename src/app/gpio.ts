import type { BoardDescription, DigitalInput, DigitalOutput, InputPinDescription, IoFactory, Level } from '../../hal/types';
import { isOutputPin } from '../../hal/types';
import type { Clock } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import type { JsonValue } from '../platform/store';
import { parsePinNumber, show } from './coerce';
import { Debouncer } from './debouncer';
import { isString } from '../platform/guards';

/** Why a GPIO state changed: an RPC (or other call), or a settled input edge. */
export type GpioCause = 'command' | 'input';

export type GpioListener = (name: string, on: boolean, cause: GpioCause) => void;

export interface GpioOptions {
  io: IoFactory;
  board: BoardDescription;
  clock: Clock;
  log: Log;
  /** Called after every change of a logical state (never for a write that changes nothing). */
  onChange: GpioListener;
}

interface OutputSlot {
  name: string;
  pin: number;
  activeLow: boolean;
  io: DigitalOutput;
}

interface InputSlot {
  name: string;
  pin: number;
  activeLow: boolean;
  io: DigitalInput;
  debouncer: Debouncer;
  on: boolean;
}

/**
 * The board's digital pins by name, in logical terms: `on` is the load powered / the button
 * pressed, whatever the wiring (activeLow inverts here, the HAL deals in raw levels). Inputs are
 * debounced with the board's debounceMs on the Clock.
 */
export class Gpio {
  private readonly io_: IoFactory;
  private readonly board_: BoardDescription;
  private readonly clock_: Clock;
  private readonly log_: Log;
  private readonly onChange_: GpioListener;
  private readonly outputs_: OutputSlot[] = [];
  private readonly inputs_: InputSlot[] = [];
  private opened_ = false;

  constructor(options: GpioOptions) {
    this.io_ = options.io;
    this.board_ = options.board;
    this.clock_ = options.clock;
    this.log_ = options.log;
    this.onChange_ = options.onChange;
  }

  /** Opens every digital pin of the board; a pin that fails to open is logged and left out. */
  open(): void {
    if (this.opened_) return;
    this.opened_ = true;
    for (const name of Object.keys(this.board_.pins)) {
      const description = this.board_.pins[name];
      try {
        if (isOutputPin(description)) this.openOutput_(name, description.pin, description.mode, description.activeLow === true, description.initial);
        else this.openInput_(name, description);
      } catch (error) {
        this.log_.error('pin ' + name + ' (GPIO ' + description.pin + ') not opened: ' + describeError(error));
      }
    }
  }

  /** Releases every pin and debounce timer. Safe to call twice. */
  close(): void {
    for (const slot of this.inputs_.splice(0)) {
      slot.debouncer.cancel();
      slot.io.close();
    }
    for (const slot of this.outputs_.splice(0)) slot.io.close();
  }

  /** Names of the output pins that are open, in board order. */
  outputNames(): string[] {
    return this.outputs_.map((slot) => slot.name);
  }

  /**
   * The output pin `ref` designates: its name ("led"), or its GPIO number (2 or "2"). Throws an
   * Error a person can act on for an unknown pin, an input, or a pin that failed to open.
   */
  resolveOutput(ref: JsonValue | undefined): string {
    const name = this.resolveName_(ref);
    const description = this.board_.pins[name];
    if (!isOutputPin(description)) {
      throw new Error('pin ' + name + ' (GPIO ' + description.pin + ') is an input, not an output; outputs: ' + this.list_(this.outputs_));
    }
    if (!this.findOutput_(name)) throw new Error('pin ' + name + ' (GPIO ' + description.pin + ') could not be opened on this board (see the device log)');
    return name;
  }

  /** Logical state of an output or input by name; undefined for a pin that is not open. */
  isOn(name: string): boolean | undefined {
    const output = this.findOutput_(name);
    if (output) return logical(output.io.read(), output.activeLow);
    const input = this.findInput_(name);
    return input ? input.on : undefined;
  }

  /** Drives output `name` (already resolved) on or off; reports a change to the listener. */
  set(name: string, on: boolean): void {
    const slot = this.findOutput_(name);
    if (!slot) throw new Error('pin ' + name + ' is not an open output');
    const before = logical(slot.io.read(), slot.activeLow);
    slot.io.write(physical(on, slot.activeLow));
    if (before !== on) this.onChange_(name, on, 'command');
  }

  /** Flips output `name`; returns the new logical state. */
  toggle(name: string): boolean {
    const on = !this.isOn(name);
    this.set(name, on);
    return on;
  }

  /** Every open pin (outputs, then inputs) by name: {"led": true, "button": false}. */
  statusByName(): { [name: string]: boolean } {
    return this.status_(false);
  }

  /** Every open pin by GPIO number as a string, as the ThingsBoard GPIO widgets expect: {"2": true}. */
  statusByNumber(): { [pin: string]: boolean } {
    return this.status_(true);
  }

  private openOutput_(name: string, pin: number, mode: 'output' | 'output-open-drain', activeLow: boolean, initial: Level | undefined): void {
    // No initial level in the board description means off, whatever the wiring: relays start released.
    const io = this.io_.openDigitalOutput({ pin, mode, initial: initial ?? physical(false, activeLow) });
    this.outputs_.push({ name, pin, activeLow, io });
  }

  private openInput_(name: string, description: InputPinDescription): void {
    const activeLow = description.activeLow === true;
    const debounceMs = description.debounceMs ?? 0;
    // The slot exists before the pin opens, so an edge during open has somewhere to go.
    const slot = { name, pin: description.pin, activeLow, on: false } as InputSlot;
    slot.debouncer = new Debouncer(this.clock_, debounceMs, () => this.settle_(slot));
    slot.io = this.io_.openDigitalInput({ pin: description.pin, mode: description.mode }, () => slot.debouncer.edge());
    slot.on = logical(slot.io.read(), activeLow);
    this.inputs_.push(slot);
  }

  private settle_(slot: InputSlot): void {
    let on: boolean;
    try {
      on = logical(slot.io.read(), slot.activeLow);
    } catch (error) {
      this.log_.warn('pin ' + slot.name + ' unreadable: ' + describeError(error));
      return;
    }
    if (on === slot.on) return;
    slot.on = on;
    this.onChange_(slot.name, on, 'input');
  }

  private resolveName_(ref: JsonValue | undefined): string {
    if (isString(ref) && Object.prototype.hasOwnProperty.call(this.board_.pins, ref.trim())) return ref.trim();
    const number = parsePinNumber(ref);
    if (number !== undefined) {
      for (const name of Object.keys(this.board_.pins)) if (this.board_.pins[name].pin === number) return name;
    }
    const all = Object.keys(this.board_.pins)
      .map((name) => name + ' (' + this.board_.pins[name].pin + ')')
      .join(', ');
    throw new Error('unknown pin ' + show(ref) + '; pins on board ' + this.board_.name + ': ' + (all || 'none'));
  }

  private list_(slots: { name: string; pin: number }[]): string {
    return slots.length === 0 ? 'none' : slots.map((s) => s.name + ' (' + s.pin + ')').join(', ');
  }

  private status_(byNumber: boolean): { [key: string]: boolean } {
    const out: { [key: string]: boolean } = {};
    // Index loops: a for-of makes an iterator on XS (each RPC reads the status).
    const outputs = this.outputs_;
    for (let i = 0; i < outputs.length; i++) out[byNumber ? outputs[i].pin : outputs[i].name] = logical(outputs[i].io.read(), outputs[i].activeLow);
    const inputs = this.inputs_;
    for (let i = 0; i < inputs.length; i++) out[byNumber ? inputs[i].pin : inputs[i].name] = inputs[i].on;
    return out;
  }

  private findOutput_(name: string): OutputSlot | undefined {
    return find(this.outputs_, name);
  }

  private findInput_(name: string): InputSlot | undefined {
    return find(this.inputs_, name);
  }
}

function find<T extends { name: string }>(slots: T[], name: string): T | undefined {
  for (let i = 0; i < slots.length; i++) if (slots[i].name === name) return slots[i];
  return undefined;
}

function logical(level: Level, activeLow: boolean): boolean {
  return (level === 1) !== activeLow;
}

function physical(on: boolean, activeLow: boolean): Level {
  return on !== activeLow ? 1 : 0;
}
