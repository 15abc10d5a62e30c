import type { JsonValue } from '../platform/store';
import { isObject } from './json';
import { isString } from '../platform/guards';

/** A shared attribute push: new values, and keys the server deleted. */
export interface SharedAttributesUpdate {
  values: { [key: string]: JsonValue };
  deleted: string[];
}

export type SharedAttributesListener = (update: SharedAttributesUpdate) => void;

/**
 * Reads a shared attribute push: `{"k":v,...}`, or `{"deleted":["k1",...]}` for deletions.
 * Returns undefined for a payload of the wrong shape.
 */
export function parseSharedUpdate(body: JsonValue): SharedAttributesUpdate | undefined {
  if (!isObject(body)) return undefined;
  const deleted = body.deleted;
  if (Array.isArray(deleted) && deleted.every((k) => isString(k))) {
    const values: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(body)) if (key !== 'deleted') values[key] = body[key];
    return { values, deleted: deleted as string[] };
  }
  return { values: body, deleted: [] };
}
