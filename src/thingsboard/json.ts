import type { JsonValue } from '../platform/store';
import { utf8Decode } from '../platform/utf8';

export type JsonObject = { [key: string]: JsonValue };

/** Parses a payload as JSON; returns an Error instead of throwing. */
export function parseJson(payload: Uint8Array): JsonValue | Error {
  try {
    return JSON.parse(utf8Decode(payload)) as JsonValue;
  } catch (error) {
    return toError(error);
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Serialises a value the caller gave us, turning a cycle or a BigInt into an Error. */
export function stringify(value: unknown): string | Error {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return new Error('value cannot be sent as JSON');
    return text;
  } catch (error) {
    return toError(error);
  }
}

function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** Shortens a payload for a log line. */
export function preview(payload: Uint8Array, max = 120): string {
  const text = utf8Decode(payload, 0, Math.min(payload.length, max));
  return payload.length > max ? text + '...' : text;
}
