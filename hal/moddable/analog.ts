import Analog from 'embedded:io/analog';
import type { AnalogInput } from '../types';
import { IoHandle } from './adapter';

/** @moddable/typings 5.6.0 omits close() on Analog, PWM and I2C; Moddable's classes have it. */
type Closable<T> = T & { close(): void };

/**
 * ECMA-419 Analog as an AnalogInput. Moddable's ESP32 Analog ignores the requested resolution
 * (10 bits on the ESP32, 12 on the C3, 13 on the S2/S3), while a board's calibration is written
 * for the one it asks for: readings are scaled to that, so `resolution` is the one asked for.
 */
export class ModdableAnalogInput implements AnalogInput {
  private readonly handle_: IoHandle<Closable<Analog>>;
  private readonly scale_: number;
  readonly resolution: number;

  constructor(io: typeof Analog, readonly pin: number, resolution: number | undefined) {
    this.handle_ = new IoHandle('analog input on pin ' + pin, () => (resolution === undefined ? new io({ pin }) : new io({ pin, resolution })) as Closable<Analog>);
    const actual = this.handle_.io.resolution;
    this.resolution = resolution ?? actual;
    this.scale_ = (2 ** this.resolution - 1) / (2 ** actual - 1);
  }

  read(): number {
    return Math.round(this.handle_.io.read() * this.scale_);
  }

  close(): void {
    this.handle_.close();
  }
}
