import { isObject, type JsonObject } from './json';

/** A reading with the device's own time stamp (ms since the epoch). */
export interface TimedValues {
  ts: number;
  values: JsonObject;
}

/** What ThingsBoard takes as telemetry: {"k":v}, {"ts":..,"values":{..}}, or an array of either. */
export type TelemetryInput = JsonObject | TimedValues | (JsonObject | TimedValues)[];

/** Explains what is wrong with a telemetry value, or returns undefined when it is fine. */
export function checkTelemetry(input: unknown): string | undefined {
  if (Array.isArray(input)) {
    if (input.length === 0) return 'telemetry array is empty';
    for (let i = 0; i < input.length; i++) {
      const problem = checkEntry(input[i]);
      if (problem) return 'telemetry[' + i + ']: ' + problem;
    }
    return undefined;
  }
  return checkEntry(input);
}

// Written out with the natives only: this runs for every telemetry message, and on XS the helper
// calls (isObject, isIntegerIn) cost more than the checks (225 computrons with them, measured on
// xsnap).
function checkEntry(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'telemetry must be an object or an array of objects';
  // The server treats an object as time-stamped only when both "ts" and "values" are present.
  if ('ts' in entry && 'values' in entry) {
    const timed = entry as { ts: unknown; values: unknown };
    const ts = timed.ts;
    if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0) return '"ts" must be a non-negative integer (ms since the epoch)';
    const values = timed.values;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) return '"values" must be an object';
    if (Object.keys(values).length === 0) return '"values" is empty';
    return undefined;
  }
  if (Object.keys(entry).length === 0) return 'telemetry object is empty';
  return undefined;
}

/** Attributes are a non-empty JSON object. */
export function checkAttributes(input: unknown): string | undefined {
  if (!isObject(input)) return 'attributes must be a JSON object';
  if (Object.keys(input).length === 0) return 'attributes object is empty';
  return undefined;
}

/**
 * The data points of a telemetry value as ThingsBoard counts them for its telemetryDataPoints
 * limit: one per key of each entry (`values`' keys for a time-stamped one), summed over an array.
 * 0 for what is not telemetry-shaped.
 */
export function telemetryPoints(input: unknown): number {
  if (!Array.isArray(input)) return entryPoints(input);
  let n = 0;
  for (let i = 0; i < input.length; i++) n += entryPoints(input[i]);
  return n;
}

function entryPoints(entry: unknown): number {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 0;
  if ('ts' in entry && 'values' in entry) {
    const values = (entry as { values: unknown }).values;
    return typeof values === 'object' && values !== null ? Object.keys(values).length : 0;
  }
  return Object.keys(entry).length;
}
