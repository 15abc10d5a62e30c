import type { Level } from './digital';
import { HalError } from './errors';

/**
 * An integer within min..max (both included). Defined here, the lowest layer, and re-exported by
 * src/platform/guards for src/ (as describeError is from tbxs-error.ts): hal/ must not import src/.
 */
export function isIntegerIn(value: unknown, min: number, max = Infinity): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

/**
 * Argument checks shared by every IoFactory implementation, so the mock and the device refuse the
 * same values with the same codes (the contract suites in test/contract rely on it).
 */

export function checkLevel(level: unknown, where: string): Level {
  if (level !== 0 && level !== 1) throw new HalError('range', where + ': level must be 0 or 1, got ' + String(level));
  return level;
}

export function checkDuty(duty: unknown, resolution: number, where: string): number {
  const max = 2 ** resolution - 1;
  if (!isIntegerIn(duty, 0, max)) {
    throw new HalError('range', where + ': duty must be an integer 0..' + max + ' (' + resolution + ' bits), got ' + String(duty));
  }
  return duty;
}

export function checkPin(pin: unknown, what: string): number {
  if (!isIntegerIn(pin, 0)) {
    throw new HalError('bad-config', what + ': pin must be a non-negative integer, got ' + String(pin));
  }
  return pin;
}

export function closedError(where: string): HalError {
  return new HalError('closed', where + ' is closed');
}
