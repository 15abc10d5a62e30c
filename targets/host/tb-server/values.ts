/** Payload parsing and the value rules of ThingsBoard's JsonConverter. */
import type { Json, JsonObject } from './types';
import { telemetryPoints } from '../../../src/thingsboard/telemetry';

export class ShapeError extends Error {}

/** Parses a UTF-8 JSON payload; throws ShapeError on invalid JSON. */
export function parseJson(payload: Buffer | string): Json {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new ShapeError('invalid JSON');
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseObject(payload: Buffer | string, what: string): JsonObject {
  const v = parseJson(payload);
  if (!isObject(v)) throw new ShapeError(`${what}: expected a JSON object`);
  return v;
}

const NUMERIC = /^-?(\d+\.?\d*|\.\d+)$/;

/** Type cast of ThingsBoard (on by default): numeric-looking strings become numbers. */
export function castValue(v: Json): Json {
  if (typeof v === 'string' && NUMERIC.test(v)) {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return v;
}

export function castValues(obj: JsonObject): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = castValue(v);
  return out;
}

export interface TelemetryBatch {
  ts: number;
  values: Record<string, Json>;
}

function telemetryItem(item: Json, now: number): TelemetryBatch {
  if (!isObject(item)) throw new ShapeError('telemetry: each item must be a JSON object');
  if ('ts' in item && 'values' in item) {
    const ts = item.ts;
    const values = item.values;
    if (typeof ts !== 'number' || !Number.isInteger(ts)) throw new ShapeError('telemetry: ts must be an integer');
    if (!isObject(values)) throw new ShapeError('telemetry: values must be a JSON object');
    return { ts, values: castValues(values) };
  }
  return { ts: now, values: castValues(item) };
}

/** `{k:v}`, `{ts,values}` or an array of either. */
export function parseTelemetry(json: Json, now = Date.now()): TelemetryBatch[] {
  if (Array.isArray(json)) return json.map((i) => telemetryItem(i, now));
  return [telemetryItem(json, now)];
}

/**
 * The data points of a telemetry payload as ThingsBoard counts them for its telemetryDataPoints
 * limit: one per key of each entry (`values`' keys for a time-stamped one), summed over an array
 * and, for a gateway, over its devices. 0 for a payload that is not telemetry-shaped (the handler
 * then refuses it).
 */
export function telemetryDataPoints(payload: Buffer, gateway: boolean): number {
  let json: Json;
  try {
    json = JSON.parse(payload.toString('utf8')) as Json;
  } catch {
    return 0;
  }
  if (!gateway) return telemetryPoints(json);
  if (!isObject(json)) return 0;
  let n = 0;
  for (const name of Object.keys(json)) n += telemetryPoints(json[name]);
  return n;
}

/** Comma-separated key list of an attribute request: a string (or number); arrays are rejected. */
export function keyList(v: Json | undefined, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.length === 0 ? [] : v.split(',');
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  throw new ShapeError(`${field} must be a comma-separated string`);
}

/** Request ids in topics: non-negative 31-bit integers. */
export function topicId(s: string): number {
  if (!/^\d{1,10}$/.test(s)) throw new ShapeError(`bad request id "${s}"`);
  const n = Number(s);
  if (n > 0x7fffffff) throw new ShapeError(`bad request id "${s}"`);
  return n;
}
