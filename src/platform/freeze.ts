/**
 * Freezes a constant table and every object in it. On Moddable a preloaded object that stays
 * writable is an alias: XS keeps a RAM copy slot for it at run time, and xsl warns ("not
 * frozen"). Frozen all the way down, the table stays in flash.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
