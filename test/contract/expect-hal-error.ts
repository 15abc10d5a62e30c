import { expect } from 'vitest';
import { HalError } from '../../hal/types';
import type { HalErrorCode } from '../../hal/types';

/** Runs `run`, expects a HalError with `code`, returns it for further checks on the message. */
export function expectHalError(code: HalErrorCode, run: () => unknown): HalError {
  let caught: unknown;
  let returned: unknown;
  try {
    returned = run();
  } catch (error) {
    caught = error;
  }
  expect(returned, 'expected a HalError ' + code + ', got a value').toBeUndefined();
  expect(caught).toBeInstanceOf(HalError);
  expect((caught as HalError).code).toBe(code);
  return caught as HalError;
}
