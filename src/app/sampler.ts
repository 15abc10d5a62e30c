import { openAnalogSensor, openI2cSensor } from '../../hal/drivers';
import type { BoardDescription, IoFactory, Sensor } from '../../hal/types';
import { isHalError } from '../../hal/types';
import type { Clock, TimerHandle } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import type { JsonValue } from '../platform/store';

export type TelemetryValues = { [key: string]: JsonValue };

export interface SamplerOptions {
  io: IoFactory;
  board: BoardDescription;
  clock: Clock;
  log: Log;
  /** One call per cycle with every reading and every error of that cycle. */
  publish: (ts: number, values: TelemetryValues) => void;
}

interface SensorSlot {
  /** The board's name for it: 'climate', or the reading name for an analog input ('battery_v'). */
  name: string;
  /** Put before each reading name: 'climate_' for an I2C sensor, '' for an analog input. */
  prefix: string;
  sensor: Sensor | undefined;
  /** Why the sensor could not be opened, or why this cycle's start() failed. */
  error: string | undefined;
}

/** Readings are sent with this many decimals: enough for every sensor we have, short on the wire. */
const DECIMALS = 100;

/**
 * The sampling loop: every interval, start() every sensor, wait the longest conversionMs on the
 * Clock, read() them all and publish one message. Cycles keep a fixed rate (the next one is due
 * one interval after the previous one began), the first one runs at start().
 *
 * Keys: an I2C sensor's readings are `<sensor>_<reading>` (climate_temperature), an analog
 * input's reading is its own name (battery_v). A sensor that fails reports `<name>_error` with
 * "<code>: <message>" instead of its values; the other sensors' values still go out.
 */
export class Sampler {
  private readonly io: IoFactory;
  private readonly board: BoardDescription;
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly publish: (ts: number, values: TelemetryValues) => void;
  private readonly slots: SensorSlot[] = [];
  private intervalMs = 5000;
  private running = false;
  private cycleTimer: TimerHandle | undefined;
  private readTimer: TimerHandle | undefined;
  private lastCycleAt = 0;

  constructor(options: SamplerOptions) {
    this.io = options.io;
    this.board = options.board;
    this.clock = options.clock;
    this.log = options.log;
    this.publish = options.publish;
  }

  /** Opens every sensor of the board; one that fails is kept as a slot that reports its error. */
  open(): void {
    if (this.slots.length > 0) return;
    const sensors = this.board.sensors ?? {};
    for (const name of Object.keys(sensors)) {
      this.addSlot(name, name + '_', () => openI2cSensor(this.io, sensors[name]));
    }
    const analog = this.board.analog ?? {};
    for (const name of Object.keys(analog)) {
      this.addSlot(name, '', () => openAnalogSensor(this.io, name, analog[name]));
    }
  }

  get sensorCount(): number {
    return this.slots.length;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts the loop (first cycle now) or, when running, changes its period. */
  run(intervalMs: number): void {
    this.intervalMs = intervalMs;
    if (!this.running) {
      this.running = true;
      this.cycle();
      return;
    }
    // Apply a new period at once: the next cycle is due one new period after the last one began.
    this.clearCycleTimer();
    const due = this.lastCycleAt + intervalMs;
    this.cycleTimer = this.clock.setTimeout(() => this.cycle(), Math.max(0, due - this.clock.now()));
  }

  /** Stops the loop; a conversion in progress is dropped. */
  stop(): void {
    this.running = false;
    this.clearCycleTimer();
    if (this.readTimer !== undefined) {
      this.clock.clearTimeout(this.readTimer);
      this.readTimer = undefined;
    }
  }

  /** Stops the loop and closes every sensor. */
  close(): void {
    this.stop();
    for (const slot of this.slots.splice(0)) {
      if (slot.sensor) slot.sensor.close();
    }
  }

  private addSlot(name: string, prefix: string, open: () => Sensor): void {
    const slot: SensorSlot = { name, prefix, sensor: undefined, error: undefined };
    try {
      slot.sensor = open();
    } catch (error) {
      slot.error = errorText(error);
      this.log.error('sensor ' + name + ' not opened: ' + describeError(error));
    }
    this.slots.push(slot);
  }

  private cycle(): void {
    this.cycleTimer = undefined;
    if (!this.running) return;
    this.lastCycleAt = this.clock.now();
    this.cycleTimer = this.clock.setTimeout(() => this.cycle(), this.intervalMs);
    if (this.readTimer !== undefined) {
      this.log.warn('sampling cycle skipped: the previous one is still converting');
      return;
    }
    if (this.slots.length === 0) return;
    let waitMs = 0;
    for (const slot of this.slots) {
      if (!slot.sensor) continue;
      slot.error = undefined;
      try {
        slot.sensor.start();
        if (slot.sensor.conversionMs > waitMs) waitMs = slot.sensor.conversionMs;
      } catch (error) {
        slot.error = this.failure(slot, error);
      }
    }
    if (waitMs <= 0) {
      this.collect();
      return;
    }
    this.readTimer = this.clock.setTimeout(() => {
      this.readTimer = undefined;
      this.collect();
    }, Math.ceil(waitMs));
  }

  private collect(): void {
    const values: TelemetryValues = {};
    for (const slot of this.slots) {
      if (slot.sensor && slot.error === undefined) {
        try {
          // All of a sensor's values or none: a half-read sensor reports only its error.
          const readings = slot.sensor.read();
          const checked: TelemetryValues = {};
          for (const key of Object.keys(readings)) {
            const value = readings[key];
            if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(key + ' is not a finite number');
            checked[slot.prefix + key] = Math.round(value * DECIMALS) / DECIMALS;
          }
          for (const key of Object.keys(checked)) values[key] = checked[key];
          continue;
        } catch (error) {
          slot.error = this.failure(slot, error);
        }
      }
      values[slot.name + '_error'] = slot.error ?? 'not opened';
    }
    this.publish(this.clock.now(), values);
  }

  private failure(slot: SensorSlot, error: unknown): string {
    if (isHalError(error)) this.log.warn('sensor ' + slot.name + ': ' + describeError(error));
    else this.log.error('sensor ' + slot.name + ' failed unexpectedly: ' + describeError(error));
    return errorText(error);
  }

  private clearCycleTimer(): void {
    if (this.cycleTimer === undefined) return;
    this.clock.clearTimeout(this.cycleTimer);
    this.cycleTimer = undefined;
  }
}

/** "no-device: SHT3x at I2C 0x44 ...: no acknowledge" for a HalError, the message otherwise. */
function errorText(error: unknown): string {
  if (isHalError(error)) return error.code + ': ' + error.message;
  return error instanceof Error ? error.message : String(error);
}
