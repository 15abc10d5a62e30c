import I2C from 'embedded:io/i2c';
import type { I2cDevice, I2cSpec } from '../types';
import { HalError, describeI2c } from '../types';
import { IoHandle } from './adapter';
import { describeError } from '../types/tbxs-error';

/** @moddable/typings 5.6.0 omits close() on I2C; Moddable's class has it. */
type ClosableI2c = I2C & { close(): void };

/**
 * ECMA-419 I2C as an I2cDevice. Moddable's ESP32 I2C throws a plain Error when a transfer fails,
 * and in practice that is a missing acknowledge, so it becomes 'no-device' with the original text.
 * (It accepts `stop` but always ends a transfer with a stop condition; the chips here accept that.)
 */
export class ModdableI2cDevice implements I2cDevice {
  private readonly handle_: IoHandle<ClosableI2c>;
  readonly address: number;
  readonly where: string;

  constructor(io: typeof I2C, spec: I2cSpec) {
    this.address = spec.address;
    const options = { data: spec.data, clock: spec.clock, hz: spec.hz, address: spec.address };
    this.handle_ = new IoHandle(describeI2c(spec), () => (spec.port === undefined ? new io(options) : new io({ ...options, port: spec.port })) as ClosableI2c);
    this.where = this.handle_.where;
  }

  read(length: number, stop = true): Uint8Array {
    const i2c = this.handle_.io;
    try {
      return new Uint8Array(i2c.read(length, stop));
    } catch (error) {
      throw this.failed_('read', error);
    }
  }

  write(bytes: Uint8Array, stop = true): void {
    const i2c = this.handle_.io;
    try {
      i2c.write(bytes, stop);
    } catch (error) {
      throw this.failed_('write', error);
    }
  }

  close(): void {
    this.handle_.close();
  }

  private failed_(op: string, error: unknown): HalError {
    return new HalError('no-device', this.where + ': ' + op + ' failed (' + describeError(error) + '): chip absent, unpowered or wrong address', { cause: error });
  }
}
