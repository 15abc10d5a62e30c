import type { JsonValue } from '../platform/store';
import { isIntegerIn, isString } from '../platform/guards';

/**
 * Reads a boolean as dashboards send it: true/false, 1/0, "true"/"false", "1"/"0", "on"/"off"
 * (any case). Returns undefined for anything else.
 */
export function parseBoolean(value: JsonValue | undefined): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (!isString(value)) return undefined;
  const text = value.trim().toLowerCase();
  if (text === 'true' || text === '1' || text === 'on') return true;
  if (text === 'false' || text === '0' || text === 'off') return false;
  return undefined;
}

/** "2" -> 2 for a string of decimal digits, else undefined. */
export function parsePinNumber(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number') return isIntegerIn(value, 0) ? value : undefined;
  if (!isString(value)) return undefined;
  const text = value.trim();
  return /^\d{1,3}$/.test(text) ? Number(text) : undefined;
}

/** One line for an error message: JSON, shortened. */
export function show(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? text.slice(0, 40) + '...' : text;
}
