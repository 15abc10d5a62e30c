import type { I2cDevice } from '../types';
import { describeError } from '../../src/platform/errors';
import { HalError } from '../types';

/**
 * Runs one bus transfer for a driver and puts the chip's name in front of any HalError, so the log
 * says "SHT3x at I2C 0x44 (data 21, clock 22): no acknowledge..." and a person knows which part to
 * check. The code is kept: a NACK stays 'no-device'.
 */
export function transfer<T>(chip: string, device: I2cDevice, step: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof HalError) {
      throw new HalError(error.code, chip + ' ' + step + ': ' + error.message, { cause: error });
    }
    throw new HalError('io', chip + ' at ' + device.where + ' ' + step + ': ' + describeError(error), { cause: error });
  }
}
