import type {
  AnalogInput,
  AnalogSpec,
  DigitalInput,
  DigitalInputSpec,
  DigitalOutput,
  DigitalOutputSpec,
  EdgeCallback,
  I2cDevice,
  I2cSpec,
  IoFactory,
  PwmOutput,
  PwmSpec,
} from '../types';
import { Edge, HalError, checkLevel, checkPin } from '../types';
import { MockAnalogInput } from './mock-analog';
import { MockDigitalInput, MockDigitalOutput } from './mock-digital';
import { MockI2cBus, MockI2cDevice } from './mock-i2c';
import { MockPin } from './mock-pin';
import { MockPwmOutput } from './mock-pwm';

export interface MockIoOptions {
  /** ADC bits when the spec asks for none; ESP32 reads 12 bits. */
  analogResolution?: number;
  /** PWM duty bits; Moddable's ESP32 PWM uses 10. */
  pwmResolution?: number;
  /** PWM frequency when the spec gives none. */
  pwmHz?: number;
}

/**
 * An in-memory IoFactory for tests and the simulated board. The firmware opens IO through the
 * IoFactory methods; the test reaches the other side through pin() and bus().
 */
export class MockIo implements IoFactory {
  private readonly pins_ = new Map<number, MockPin>();
  private readonly buses_ = new Map<string, MockI2cBus>();
  private readonly analogResolution_: number;
  private readonly pwmResolution_: number;
  private readonly pwmHz_: number;

  constructor(options: MockIoOptions = {}) {
    this.analogResolution_ = options.analogResolution ?? 12;
    this.pwmResolution_ = options.pwmResolution ?? 10;
    this.pwmHz_ = options.pwmHz ?? 1000;
  }

  /** The test's handle on a pin (created on first use). */
  pin(pin: number): MockPin {
    let state = this.pins_.get(pin);
    if (!state) {
      state = new MockPin(pin);
      this.pins_.set(pin, state);
    }
    return state;
  }

  /** The test's handle on the bus with these wires (created on first use). */
  bus(data: number, clock: number, port?: number): MockI2cBus {
    const key = data + '/' + clock + '/' + (port ?? '');
    let bus = this.buses_.get(key);
    if (!bus) {
      bus = new MockI2cBus();
      this.buses_.set(key, bus);
    }
    return bus;
  }

  /** Pins currently held by an IO object: tests check it is empty after the app's close(). */
  openPins(): number[] {
    const open: number[] = [];
    for (const state of this.pins_.values()) if (state.use !== undefined) open.push(state.pin);
    return open.sort((a, b) => a - b);
  }

  openDigitalInput(spec: DigitalInputSpec, onEdge?: EdgeCallback): DigitalInput {
    const state = this.pin(checkPin(spec.pin, 'digital input'));
    if (spec.mode !== 'input' && spec.mode !== 'input-pullup' && spec.mode !== 'input-pulldown') {
      throw new HalError('bad-config', 'digital input on pin ' + spec.pin + ': unknown mode ' + String(spec.mode));
    }
    state.claim('digital-input');
    state.configureInput(spec.mode, onEdge ? (spec.edge ?? Edge.Both) : 0, onEdge);
    return new MockDigitalInput(state);
  }

  openDigitalOutput(spec: DigitalOutputSpec): DigitalOutput {
    const state = this.pin(checkPin(spec.pin, 'digital output'));
    const initial = checkLevel(spec.initial ?? 0, 'digital output on pin ' + spec.pin + ' (initial)');
    state.claim('digital-output');
    return new MockDigitalOutput(state, initial);
  }

  openAnalog(spec: AnalogSpec): AnalogInput {
    const state = this.pin(checkPin(spec.pin, 'analog input'));
    const resolution = spec.resolution ?? this.analogResolution_;
    if (!Number.isInteger(resolution) || resolution < 1 || resolution > 16) {
      throw new HalError('bad-config', 'analog input on pin ' + spec.pin + ': resolution ' + resolution + ' bits not in 1..16');
    }
    state.claim('analog');
    return new MockAnalogInput(state, resolution);
  }

  openPwm(spec: PwmSpec): PwmOutput {
    const state = this.pin(checkPin(spec.pin, 'PWM'));
    const hz = spec.hz ?? this.pwmHz_;
    if (!(hz > 0)) throw new HalError('bad-config', 'PWM on pin ' + spec.pin + ': hz must be > 0, got ' + hz);
    state.claim('pwm');
    return new MockPwmOutput(state, this.pwmResolution_, hz);
  }

  openI2c(spec: I2cSpec): I2cDevice {
    checkPin(spec.data, 'I2C data');
    checkPin(spec.clock, 'I2C clock');
    if (!Number.isInteger(spec.address) || spec.address < 0x08 || spec.address > 0x77) {
      throw new HalError('bad-config', 'I2C address ' + String(spec.address) + ' is not a 7-bit device address (0x08..0x77)');
    }
    if (!(spec.hz > 0)) throw new HalError('bad-config', 'I2C bus (data ' + spec.data + ', clock ' + spec.clock + '): hz must be > 0, got ' + spec.hz);
    // Like ECMA-419, opening does not talk to the chip: an absent chip shows on the first transfer.
    return new MockI2cDevice(this.bus(spec.data, spec.clock, spec.port), spec);
  }
}
