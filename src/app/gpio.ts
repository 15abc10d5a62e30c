import type { BoardDescription, DigitalInput, DigitalOutput, InputPinDescription, IoFactory, Level } from '../../hal/types';
import { isOutputPin } from '../../hal/types';
import type { Clock } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import type { JsonValue } from '../platform/store';
import { parsePinNumber, show } from './coerce';
import { Debouncer } from './debouncer';

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
  private readonly io: IoFactory;
  private readonly board: BoardDescription;
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly onChange: GpioListener;
  private readonly outputs: OutputSlot[] = [];
  private readonly inputs: InputSlot[] = [];
  private opened = false;

  constructor(options: GpioOptions) {
    this.io = options.io;
    this.board = options.board;
    this.clock = options.clock;
    this.log = options.log;
    this.onChange = options.onChange;
  }

  /** Opens every digital pin of the board; a pin that fails to open is logged and left out. */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    for (const name of Object.keys(this.board.pins)) {
      const description = this.board.pins[name];
      try {
        if (isOutputPin(description)) this.openOutput(name, description.pin, description.mode, description.activeLow === true, description.initial);
        else this.openInput(name, description);
      } catch (error) {
        this.log.error('pin ' + name + ' (GPIO ' + description.pin + ') not opened: ' + describeError(error));
      }
    }
  }

  /** Releases every pin and debounce timer. Safe to call twice. */
  close(): void {
    for (const slot of this.inputs.splice(0)) {
      slot.debouncer.cancel();
      slot.io.close();
    }
    for (const slot of this.outputs.splice(0)) slot.io.close();
  }

  /** Names of the output pins that are open, in board order. */
  outputNames(): string[] {
    return this.outputs.map((slot) => slot.name);
  }

  /**
   * The output pin `ref` designates: its name ("led"), or its GPIO number (2 or "2"). Throws an
   * Error a person can act on for an unknown pin, an input, or a pin that failed to open.
   */
  resolveOutput(ref: JsonValue | undefined): string {
    const name = this.resolveName(ref);
    const description = this.board.pins[name];
    if (!isOutputPin(description)) {
      throw new Error('pin ' + name + ' (GPIO ' + description.pin + ') is an input, not an output; outputs: ' + this.list(this.outputs));
    }
    if (!this.findOutput(name)) throw new Error('pin ' + name + ' (GPIO ' + description.pin + ') could not be opened on this board (see the device log)');
    return name;
  }

  /** Logical state of an output or input by name; undefined for a pin that is not open. */
  isOn(name: string): boolean | undefined {
    const output = this.findOutput(name);
    if (output) return logical(output.io.read(), output.activeLow);
    const input = this.findInput(name);
    return input ? input.on : undefined;
  }

  /** Drives output `name` (already resolved) on or off; reports a change to the listener. */
  set(name: string, on: boolean): void {
    const slot = this.findOutput(name);
    if (!slot) throw new Error('pin ' + name + ' is not an open output');
    const before = logical(slot.io.read(), slot.activeLow);
    slot.io.write(physical(on, slot.activeLow));
    if (before !== on) this.onChange(name, on, 'command');
  }

  /** Flips output `name`; returns the new logical state. */
  toggle(name: string): boolean {
    const on = !this.isOn(name);
    this.set(name, on);
    return on;
  }

  /** Every open pin (outputs, then inputs) by name: {"led": true, "button": false}. */
  statusByName(): { [name: string]: boolean } {
    const out: { [name: string]: boolean } = {};
    for (const slot of this.outputs) out[slot.name] = logical(slot.io.read(), slot.activeLow);
    for (const slot of this.inputs) out[slot.name] = slot.on;
    return out;
  }

  /** Every open pin by GPIO number as a string, as the ThingsBoard GPIO widgets expect: {"2": true}. */
  statusByNumber(): { [pin: string]: boolean } {
    const out: { [pin: string]: boolean } = {};
    for (const slot of this.outputs) out[String(slot.pin)] = logical(slot.io.read(), slot.activeLow);
    for (const slot of this.inputs) out[String(slot.pin)] = slot.on;
    return out;
  }

  private openOutput(name: string, pin: number, mode: 'output' | 'output-open-drain', activeLow: boolean, initial: Level | undefined): void {
    // No initial level in the board description means off, whatever the wiring: relays start released.
    const io = this.io.openDigitalOutput({ pin, mode, initial: initial ?? physical(false, activeLow) });
    this.outputs.push({ name, pin, activeLow, io });
  }

  private openInput(name: string, description: InputPinDescription): void {
    const activeLow = description.activeLow === true;
    const debounceMs = description.debounceMs ?? 0;
    // The slot exists before the pin opens, so an edge during open has somewhere to go.
    const slot = { name, pin: description.pin, activeLow, on: false } as InputSlot;
    slot.debouncer = new Debouncer(this.clock, debounceMs, () => this.settle(slot));
    slot.io = this.io.openDigitalInput({ pin: description.pin, mode: description.mode }, () => slot.debouncer.edge());
    slot.on = logical(slot.io.read(), activeLow);
    this.inputs.push(slot);
  }

  private settle(slot: InputSlot): void {
    let on: boolean;
    try {
      on = logical(slot.io.read(), slot.activeLow);
    } catch (error) {
      this.log.warn('pin ' + slot.name + ' unreadable: ' + describeError(error));
      return;
    }
    if (on === slot.on) return;
    slot.on = on;
    this.onChange(slot.name, on, 'input');
  }

  private resolveName(ref: JsonValue | undefined): string {
    if (typeof ref === 'string' && Object.prototype.hasOwnProperty.call(this.board.pins, ref.trim())) return ref.trim();
    const number = parsePinNumber(ref);
    if (number !== undefined) {
      for (const name of Object.keys(this.board.pins)) if (this.board.pins[name].pin === number) return name;
    }
    const all = Object.keys(this.board.pins)
      .map((name) => name + ' (' + this.board.pins[name].pin + ')')
      .join(', ');
    throw new Error('unknown pin ' + show(ref) + '; pins on board ' + this.board.name + ': ' + (all || 'none'));
  }

  private list(slots: { name: string; pin: number }[]): string {
    return slots.length === 0 ? 'none' : slots.map((s) => s.name + ' (' + s.pin + ')').join(', ');
  }

  private findOutput(name: string): OutputSlot | undefined {
    for (const slot of this.outputs) if (slot.name === name) return slot;
    return undefined;
  }

  private findInput(name: string): InputSlot | undefined {
    for (const slot of this.inputs) if (slot.name === name) return slot;
    return undefined;
  }
}

function logical(level: Level, activeLow: boolean): boolean {
  return (level === 1) !== activeLow;
}

function physical(on: boolean, activeLow: boolean): Level {
  return on !== activeLow ? 1 : 0;
}
