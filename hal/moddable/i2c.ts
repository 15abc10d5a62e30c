import I2C from 'embedded:io/i2c';
import type { I2cDevice, I2cSpec } from '../types';
import { HalError, closedError, describeI2c } from '../types';
import { message, openFailed } from './platform-error';

/** @moddable/typings 5.6.0 omits close() on I2C; Moddable's class has it. */
type ClosableI2c = I2C & { close(): void };

/**
 * ECMA-419 I2C as an I2cDevice. Moddable's ESP32 I2C throws a plain Error when a transfer fails,
 * and in practice that is a missing acknowledge, so it becomes 'no-device' with the original text.
 */
export class ModdableI2cDevice implements I2cDevice {
  private readonly io_: ClosableI2c;
  private closed_ = false;
  readonly address: number;
  readonly where: string;

  constructor(io: typeof I2C, spec: I2cSpec) {
    this.address = spec.address;
    this.where = describeI2c(spec);
    const options = { data: spec.data, clock: spec.clock, hz: spec.hz, address: spec.address };
    try {
      this.io_ = (spec.port === undefined ? new io(options) : new io({ ...options, port: spec.port })) as ClosableI2c;
    } catch (error) {
      throw openFailed(this.where, error);
    }
  }

  read(length: number, stop = true): Uint8Array {
    if (this.closed_) throw closedError(this.where);
    try {
      return new Uint8Array(this.io_.read(length, stop));
    } catch (error) {
      throw this.failed_('read', error);
    }
  }

  write(bytes: Uint8Array, stop = true): void {
    if (this.closed_) throw closedError(this.where);
    try {
      this.io_.write(bytes, stop);
    } catch (error) {
      throw this.failed_('write', error);
    }
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.io_.close();
  }

  private failed_(op: string, error: unknown): HalError {
    return new HalError('no-device', this.where + ': ' + op + ' failed (' + message(error) + '): chip absent, unpowered or wrong address', { cause: error });
  }
}
