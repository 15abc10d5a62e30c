/**
 * The simulated host board: pin names and sensors like a small ESP32 board (LED, button, two relays,
 * an SHT3x and a BME280 on one I2C bus, a battery voltage divider), backed by hal/mock chip models
 * whose physical values drift like a room does (a slow random walk around a daily sine). Time comes
 * from the Clock, so a FakeClock drives it in tests and the real clock in `npm start`.
 */
import type { BoardDescription, DigitalOutput, DigitalOutputSpec, Level } from '../../hal/types';
import { isOutputPin } from '../../hal/types';
import type { I2cChipModel } from '../../hal/mock';
import { Bme280Model, MockIo, Sht3xModel } from '../../hal/mock';
import { Firmware, type FirmwareOptions } from '../../src/app/firmware';
import type { Settings } from '../../src/app/settings';
import type { Clock } from '../../src/platform/clock';
import type { Log } from '../../src/platform/log';
import type { Store } from '../../src/platform/store';
import type { TbDevice } from '../../src/thingsboard/tb-device';

const I2C_BUS = { data: 21, clock: 22, hz: 100_000 };
/** Battery through a 2:1 divider into a 12-bit ADC with a 3.3 V reference. */
const BATTERY_SCALE = (2 * 3.3) / 4095;

export const simulatedBoard: BoardDescription = {
  name: 'tbxs-simulated',
  pins: {
    led: { pin: 2, mode: 'output' },
    button: { pin: 0, mode: 'input-pullup', activeLow: true, debounceMs: 30 },
    relay1: { pin: 25, mode: 'output', activeLow: true },
    relay2: { pin: 26, mode: 'output', activeLow: true },
  },
  sensors: {
    climate: { kind: 'sht3x', bus: I2C_BUS, address: 0x44 },
    ambient: { kind: 'bme280', bus: I2C_BUS, address: 0x76 },
  },
  analog: {
    battery_v: { pin: 34, scale: BATTERY_SCALE, offset: 0, unit: 'V', resolution: 12 },
  },
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One physical quantity: base + amplitude * daily sine (peak at `peakHour` UTC) + a mean-reverting random walk. */
interface Quantity {
  base: number;
  amplitude: number;
  peakHour: number;
  /** Random walk spread after one hour, in the quantity's unit. */
  sigmaPerHour: number;
  /** How fast the walk returns to the daily curve. */
  tauMs: number;
  min: number;
  max: number;
}

const QUANTITIES = {
  temperature: { base: 22, amplitude: 2.5, peakHour: 15, sigmaPerHour: 0.6, tauMs: 3 * HOUR, min: 5, max: 40 },
  humidity: { base: 45, amplitude: -8, peakHour: 15, sigmaPerHour: 3, tauMs: 3 * HOUR, min: 15, max: 85 },
  pressure: { base: 1013, amplitude: 0.8, peakHour: 10, sigmaPerHour: 1, tauMs: 12 * HOUR, min: 970, max: 1045 },
  battery: { base: 3.95, amplitude: 0.03, peakHour: 14, sigmaPerHour: 0.01, tauMs: 6 * HOUR, min: 3.4, max: 4.2 },
} satisfies Record<string, Quantity>;

export type QuantityName = keyof typeof QUANTITIES;

/** The room the simulated sensors sit in. Values move only when update() sees the clock advance. */
export class SimulatedEnvironment {
  private readonly walk: Record<QuantityName, number> = { temperature: 0, humidity: 0, pressure: 0, battery: 0 };
  private readonly values: Record<QuantityName, number> = { temperature: 0, humidity: 0, pressure: 0, battery: 0 };
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {
    this.last = clock.now();
    for (const name of names()) this.walk[name] = gaussian(this.random) * QUANTITIES[name].sigmaPerHour;
    this.compute();
  }

  /** Advances the model to the clock's time. */
  update(): void {
    const now = this.clock.now();
    const dt = Math.min(now - this.last, DAY);
    if (dt <= 0) return;
    this.last = now;
    for (const name of names()) {
      const q = QUANTITIES[name];
      const decay = Math.exp(-dt / q.tauMs);
      this.walk[name] = this.walk[name] * decay + gaussian(this.random) * q.sigmaPerHour * Math.sqrt(dt / HOUR);
    }
    this.compute();
  }

  get(name: QuantityName): number {
    return this.values[name];
  }

  private compute(): void {
    const hour = (this.last % DAY) / HOUR;
    for (const name of names()) {
      const q = QUANTITIES[name];
      const daily = q.amplitude * Math.cos((2 * Math.PI * (hour - q.peakHour)) / 24);
      const value = q.base + daily + this.walk[name];
      this.values[name] = value < q.min ? q.min : value > q.max ? q.max : value;
    }
  }
}

function names(): QuantityName[] {
  return Object.keys(QUANTITIES) as QuantityName[];
}

function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A chip model that brings the environment up to date before each transaction. */
class DriftingChip implements I2cChipModel {
  constructor(
    private readonly chip: I2cChipModel,
    private readonly refresh: () => void,
  ) {}

  write(bytes: Uint8Array, stop: boolean): boolean {
    this.refresh();
    return this.chip.write(bytes, stop);
  }

  read(length: number, stop: boolean): Uint8Array | undefined {
    return this.chip.read(length, stop);
  }
}

/** An output that logs its logical state changes ("relay1 -> on (GPIO 25 low)"). */
class LoggedOutput implements DigitalOutput {
  constructor(
    private readonly output: DigitalOutput,
    private readonly label: string,
    private readonly activeLow: boolean,
    private readonly log: Log,
  ) {}

  get pin(): number {
    return this.output.pin;
  }

  write(level: Level): void {
    const before = this.output.read();
    this.output.write(level);
    if (before !== level) {
      const on = (level === 1) !== this.activeLow;
      this.log.info(this.label + ' -> ' + (on ? 'on' : 'off') + ' (GPIO ' + this.output.pin + ' ' + (level ? 'high' : 'low') + ')');
    }
  }

  read(): Level {
    return this.output.read();
  }

  close(): void {
    this.output.close();
  }
}

export interface SimulatedIoOptions {
  /** 0 <= x < 1, for the random walk and ADC noise. Default Math.random. */
  random?: () => number;
  /** Defaults to simulatedBoard; the sensors and outputs are looked up by its pins and addresses. */
  board?: BoardDescription;
}

/**
 * MockIo with the simulated board's chips attached: `environment` drives them, `sht3x` and `bme280`
 * are the chip models (set `answering = false` to unplug one), output changes are logged.
 */
export class SimulatedIo extends MockIo {
  readonly environment: SimulatedEnvironment;
  readonly sht3x: Sht3xModel;
  readonly bme280: Bme280Model;
  private readonly board: BoardDescription;
  private readonly log: Log;

  constructor(clock: Clock, log: Log, options: SimulatedIoOptions = {}) {
    super({ analogResolution: 12 });
    const random = options.random ?? Math.random;
    this.board = options.board ?? simulatedBoard;
    this.log = log;
    this.environment = new SimulatedEnvironment(clock, random);
    const env = this.environment;
    this.sht3x = new Sht3xModel(clock);
    this.bme280 = new Bme280Model(undefined, clock);
    const refreshSht = () => {
      env.update();
      this.sht3x.setTemperature(env.get('temperature'));
      this.sht3x.setHumidity(env.get('humidity'));
    };
    const refreshBme = () => {
      env.update();
      // The BME280 sits nearer the regulator: a little warmer, so a little drier.
      this.bme280.temperature = env.get('temperature') + 0.4;
      this.bme280.humidity = Math.max(0, env.get('humidity') - 1.2);
      this.bme280.pressure = env.get('pressure');
    };
    refreshSht();
    refreshBme();
    const sensors = this.board.sensors ?? {};
    for (const name of Object.keys(sensors)) {
      const s = sensors[name];
      const bus = this.bus(s.bus.data, s.bus.clock, s.bus.port);
      if (s.kind === 'sht3x') bus.attach(s.address, new DriftingChip(this.sht3x, refreshSht));
      else bus.attach(s.address, new DriftingChip(this.bme280, refreshBme));
    }
    const analog = this.board.analog ?? {};
    for (const name of Object.keys(analog)) {
      const a = analog[name];
      this.pin(a.pin).setAnalogFunction(() => {
        env.update();
        // Two LSB of noise, as on an ESP32 ADC.
        return (env.get('battery') - a.offset) / a.scale + (random() - 0.5) * 4;
      });
    }
  }

  override openDigitalOutput(spec: DigitalOutputSpec): DigitalOutput {
    const output = super.openDigitalOutput(spec);
    let label = 'GPIO ' + spec.pin;
    let activeLow = false;
    for (const name of Object.keys(this.board.pins)) {
      const description = this.board.pins[name];
      if (description.pin === spec.pin && isOutputPin(description)) {
        label = name;
        activeLow = description.activeLow === true;
      }
    }
    return new LoggedOutput(output, label, activeLow, this.log);
  }
}

/** The simulated board's IO; the environment advances on each sensor read (no timers to clear). */
export function createSimulatedIo(clock: Clock, log: Log, options?: SimulatedIoOptions): SimulatedIo {
  return new SimulatedIo(clock, log, options);
}

export interface SimulatedFirmwareInput {
  device: TbDevice;
  clock: Clock;
  store: Store;
  log: Log;
  /** Firmware name reported in the client attributes. */
  name: string;
  version?: string;
  /** Wire to the MQTT session's 'connect' event (see FirmwareOptions.onConnect). */
  onConnect?: (listener: () => void) => (() => void) | void;
  settings?: Partial<Settings>;
  random?: () => number;
  /** Store-and-forward telemetry (FirmwareOptions.persistOutbox). */
  persistOutbox?: FirmwareOptions['persistOutbox'];
  /** Firmware updates over MQTT (FirmwareOptions.ota). */
  ota?: FirmwareOptions['ota'];
}

export interface SimulatedFirmware {
  firmware: Firmware;
  io: SimulatedIo;
  board: BoardDescription;
  /** Closes the firmware (timers, pins, sensors, RPC methods). */
  close(): void;
}

/** The firmware on the simulated board, not yet started: call `firmware.start()`. */
export function createSimulatedFirmware(input: SimulatedFirmwareInput): SimulatedFirmware {
  const io = createSimulatedIo(input.clock, input.log, { random: input.random });
  const firmware = new Firmware({
    device: input.device,
    io,
    board: simulatedBoard,
    clock: input.clock,
    store: input.store,
    log: input.log,
    info: { name: input.name, version: input.version ?? '0.1.0' },
    settings: input.settings,
    onConnect: input.onConnect,
    persistOutbox: input.persistOutbox,
    ota: input.ota,
  });
  return { firmware, io, board: simulatedBoard, close: () => firmware.close() };
}
