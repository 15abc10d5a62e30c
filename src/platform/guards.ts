/**
 * Type tests used all over src/. One definition each rather than the inline `typeof` expression:
 * the minified ESP32 bundle then repeats a short call instead of the whole test (about 30 places).
 */

export function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** A string with at least one character: names, tokens, topics, keys. */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

export { isIntegerIn } from '../../hal/types/checks';

/** A promise, or anything with a then() method that awaiting would follow. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return !!value && typeof (value as PromiseLike<unknown>).then === 'function';
}
