import type { I2cDevice } from '../types';
import { describeError } from '../types/tbxs-error';
import { HalError } from '../types';

/**
 * The error a driver throws when a bus transfer failed: the chip's name goes in front of any
 * HalError, so the log says "SHT3x at I2C 0x44 (data 21, clock 22): no acknowledge..." and a person
 * knows which part to check. The code is kept: a NACK stays 'no-device'. Used in the driver's own
 * catch block (no callback around the transfer: one frame less on the XS stack per bus access).
 */
export function i2cFailure(chip: string, device: I2cDevice, step: string, error: unknown): HalError {
  if (error instanceof HalError) return new HalError(error.code, chip + ' ' + step + ': ' + error.message, { cause: error });
  return new HalError('io', chip + ' at ' + device.where + ' ' + step + ': ' + describeError(error), { cause: error });
}
