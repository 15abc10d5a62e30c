/**
 * `process-nextick-args` for XS. mqtt-packet calls it only for streams that have cork(), which
 * generate()'s Accumulator does not; a promise job keeps the "later, before I/O" meaning.
 */
export function nextTick(callback, ...args) {
  Promise.resolve().then(() => callback(...args));
}

export default { nextTick };
