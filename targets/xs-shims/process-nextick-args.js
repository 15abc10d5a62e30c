/**
 * `process-nextick-args` for XS. mqtt-packet calls it only for streams that have cork(), which
 * generate()'s Accumulator does not; a promise job keeps the "later, before I/O" meaning.
 */
export function nextTick(callback, ...args) {
  Promise.resolve().then(() => callback(...args));
}

// Named and frozen: a preloaded module's table must not stay writable (DESIGN.md, preload).
const processNextickArgs = Object.freeze({ nextTick });
export default processNextickArgs;
