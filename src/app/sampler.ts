import { openAnalogSensor, openI2cSensor } from '../../hal/drivers';
import type { BoardDescription, IoFactory, Sensor } from '../../hal/types';
import { isHalError } from '../../hal/types';
import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';
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
  /** This cycle's read found it busy (this error): it is read once more (collect_'s retry). */
  retry: unknown;
}

/** Readings are sent with this many decimals: enough for every sensor we have, short on the wire. */
const DECIMALS = 100;

/**
 * The sampling loop: every interval, start() every sensor, wait the longest conversionMs on the
 * Clock, read() them all and publish one message. Cycles keep a fixed rate (the next one is due
 * one interval after the previous one began), the first one runs right after run() (0 ms timer).
 *
 * Keys: an I2C sensor's readings are `<sensor>_<reading>` (climate_temperature), an analog
 * input's reading is its own name (battery_v). A sensor that fails reports `<name>_error` with
 * "<code>: <message>" instead of its values; the other sensors' values still go out.
 */
export class Sampler {
  private readonly io_: IoFactory;
  private readonly board_: BoardDescription;
  private readonly clock_: Clock;
  private readonly log_: Log;
  private readonly publish_: (ts: number, values: TelemetryValues) => void;
  private readonly slots_: SensorSlot[] = [];
  private intervalMs_ = 5000;
  private running_ = false;
  private cycleTimer_: TimerHandle | undefined;
  private readTimer_: TimerHandle | undefined;
  private lastCycleAt_ = 0;
  // The two timer callbacks, made once rather than two closures a cycle.
  private readonly onCycle_ = (): void => this.cycle_();
  private readonly onRead_ = (): void => {
    this.readTimer_ = undefined;
    this.collect_(undefined);
  };
  private readonly onRetry_ = (): void => {
    this.readTimer_ = undefined;
    const values = this.partial_;
    this.partial_ = undefined;
    if (values) this.collect_(values);
  };
  /** The readings of a cycle whose busy sensors wait for their second read. */
  private partial_: TelemetryValues | undefined;
  /** This cycle's conversion wait, which sizes the retry's. */
  private waitMs_ = 0;

  constructor(options: SamplerOptions) {
    this.io_ = options.io;
    this.board_ = options.board;
    this.clock_ = options.clock;
    this.log_ = options.log;
    this.publish_ = options.publish;
  }

  /** Opens every sensor of the board; one that fails is kept as a slot that reports its error. */
  open(): void {
    if (this.slots_.length > 0) return;
    const sensors = this.board_.sensors ?? {};
    for (const name of Object.keys(sensors)) {
      this.addSlot_(name, name + '_', () => openI2cSensor(this.io_, sensors[name]));
    }
    const analog = this.board_.analog ?? {};
    for (const name of Object.keys(analog)) {
      this.addSlot_(name, '', () => openAnalogSensor(this.io_, name, analog[name]));
    }
  }

  get sensorCount(): number {
    return this.slots_.length;
  }

  get isRunning(): boolean {
    return this.running_;
  }

  /** Starts the loop (first cycle now) or, when running, changes its period. */
  run(intervalMs: number): void {
    this.intervalMs_ = intervalMs;
    if (!this.running_) {
      this.running_ = true;
      // The first cycle at once, but from a timer of its own: run() is called at start-up and from
      // settings changes, deep in other work, and a cycle drives the sensors (on the simulator,
      // chip models several calls deep) on a device's small XS stack.
      this.cycleTimer_ = this.clock_.setTimeout(this.onCycle_, 0);
      return;
    }
    // Apply a new period at once: the next cycle is due one new period after the last one began.
    this.cycleTimer_ = clearTimer(this.clock_, this.cycleTimer_);
    const due = this.lastCycleAt_ + intervalMs;
    this.cycleTimer_ = this.clock_.setTimeout(this.onCycle_, Math.max(0, due - this.clock_.now()));
  }

  /** Stops the loop; a conversion in progress is dropped. */
  stop(): void {
    this.running_ = false;
    this.cycleTimer_ = clearTimer(this.clock_, this.cycleTimer_);
    this.readTimer_ = clearTimer(this.clock_, this.readTimer_);
    this.partial_ = undefined;
  }

  /** Stops the loop and closes every sensor. */
  close(): void {
    this.stop();
    for (const slot of this.slots_.splice(0)) {
      if (slot.sensor) slot.sensor.close();
    }
  }

  private addSlot_(name: string, prefix: string, open: () => Sensor): void {
    const slot: SensorSlot = { name, prefix, sensor: undefined, error: undefined, retry: undefined };
    try {
      slot.sensor = open();
    } catch (error) {
      slot.error = errorText(error);
      this.log_.error('sensor ' + name + ' not opened: ' + describeError(error));
    }
    this.slots_.push(slot);
  }

  private cycle_(): void {
    this.cycleTimer_ = undefined;
    if (!this.running_) return;
    this.lastCycleAt_ = this.clock_.now();
    this.cycleTimer_ = this.clock_.setTimeout(this.onCycle_, this.intervalMs_);
    if (this.readTimer_ !== undefined) {
      this.log_.warn('sampling cycle skipped: the previous one still converts');
      return;
    }
    const slots = this.slots_;
    if (slots.length === 0) return;
    // Index loops, not for-of: on XS each for-of makes an iterator and calls next() per element.
    let waitMs = 0;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      const sensor = slot.sensor;
      if (!sensor) continue;
      slot.error = undefined;
      try {
        sensor.start();
        if (sensor.conversionMs > waitMs) waitMs = sensor.conversionMs;
      } catch (error) {
        slot.error = this.failure_(slot, error);
      }
    }
    this.waitMs_ = waitMs;
    if (waitMs <= 0) {
      this.collect_(undefined);
      return;
    }
    this.readTimer_ = this.clock_.setTimeout(this.onRead_, Math.ceil(waitMs));
  }

  /**
   * Reads every started sensor and publishes the cycle. A sensor found busy (its timer fired before
   * the chip's clock got there) is read once more, one conversion wait later, the others' readings
   * kept meanwhile (`retried`: them); busy again, it reports its error.
   */
  private collect_(retried: TelemetryValues | undefined): void {
    const values: TelemetryValues = retried ?? {};
    const slots = this.slots_;
    let again = false;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      let first: unknown;
      if (retried !== undefined) {
        if (slot.retry === undefined) continue; // read in the first pass
        first = slot.retry;
        slot.retry = undefined;
      }
      if (slot.sensor && slot.error === undefined) {
        try {
          const readings = slot.sensor.read();
          const keys = Object.keys(readings);
          // Every reading checked before any is kept: a sensor reports all its values or its error.
          for (let k = 0; k < keys.length; k++) {
            const value = readings[keys[k]];
            if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(keys[k] + ' is not a finite number');
          }
          for (let k = 0; k < keys.length; k++) values[slot.prefix + keys[k]] = Math.round((readings[keys[k]] as number) * DECIMALS) / DECIMALS;
          continue;
        } catch (error) {
          if (retried === undefined && isHalError(error, 'busy')) {
            slot.retry = error;
            again = true;
            continue;
          }
          // Busy twice: the first error says why (the second may only say "not started").
          slot.error = this.failure_(slot, first !== undefined && isHalError(error, 'busy') ? first : error);
        }
      }
      values[slot.name + '_error'] = slot.error ?? 'not opened';
    }
    if (again) {
      this.partial_ = values;
      this.readTimer_ = this.clock_.setTimeout(this.onRetry_, Math.ceil(this.waitMs_));
      return;
    }
    this.publish_(this.clock_.now(), values);
  }

  private failure_(slot: SensorSlot, error: unknown): string {
    if (isHalError(error)) this.log_.warn('sensor ' + slot.name + ': ' + describeError(error));
    else this.log_.error('sensor ' + slot.name + ' failed unexpectedly: ' + describeError(error));
    return errorText(error);
  }
}

/** "no-device: SHT3x at I2C 0x44 ...: no acknowledge" for a HalError, the message otherwise. */
function errorText(error: unknown): string {
  return isHalError(error) ? error.code + ': ' + error.message : describeError(error);
}
