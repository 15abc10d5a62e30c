import { describeError } from '../types/tbxs-error';
import { HalError } from '../types';

/**
 * Moddable's IO throws plain Errors with short texts ("in use", "write failed"). These wrap them
 * in a HalError with the pin or chip named, keeping the original as `cause`.
 */
export function openFailed(what: string, error: unknown): HalError {
  return new HalError('bad-config', 'cannot open ' + what + ': ' + describeError(error), { cause: error });
}
