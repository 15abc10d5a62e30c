import type { JsonValue, Store } from '../../src/platform/store';
import { utf8Encode } from '../../src/platform/utf8';

/** The part of Moddable's `preference` module the store uses (static functions). */
export interface PreferenceApi {
  get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
  set(domain: string, key: string, value: string | boolean | number | ArrayBuffer): void;
  delete(domain: string, key: string): void;
}

/** ESP32 NVS limits as Moddable documents them: key and domain names 15 characters, values 4000 bytes. */
export const MAX_KEY_LENGTH = 15;
/** nvs_set_str stores the terminating NUL too. */
export const MAX_VALUE_BYTES = 3999;

/**
 * Store over Moddable Preference (NVS flash on ESP32, a file on the simulator). Each key holds
 * the JSON text of its value. Keys longer than 15 characters and values over 3,999 UTF-8 bytes
 * are refused with an Error naming the key, before anything is written. A value that does not
 * parse (written by something else) reads as undefined.
 *
 * Flash has limited erase cycles: set() skips the write when the stored text is the same.
 */
export class PreferenceStore implements Store {
  constructor(
    private readonly preference_: PreferenceApi,
    private readonly domain_ = 'tbxs',
  ) {
    checkName(domain_, 'domain');
  }

  get(key: string): JsonValue | undefined {
    checkName(key, 'key');
    const text = this.preference_.get(this.domain_, key);
    if (typeof text !== 'string') return undefined;
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return undefined;
    }
  }

  set(key: string, value: JsonValue): void {
    checkName(key, 'key');
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error('preference ' + key + ': value is not JSON');
    // Measure in bytes only when the characters could exceed the limit (3 bytes per UTF-16 unit
    // at most); the native encoder does it, never a charCodeAt loop (quadratic on XS).
    if (text.length * 3 > MAX_VALUE_BYTES) {
      const long = text.length > MAX_VALUE_BYTES;
      const bytes = long ? text.length : utf8Encode(text).length;
      if (bytes > MAX_VALUE_BYTES) throw new Error('preference ' + key + ': ' + (long ? 'at least ' : '') + bytes + ' bytes of JSON, over the ' + MAX_VALUE_BYTES + '-byte limit of a value');
    }
    if (this.preference_.get(this.domain_, key) === text) return;
    this.preference_.set(this.domain_, key, text);
  }

  delete(key: string): void {
    checkName(key, 'key');
    this.preference_.delete(this.domain_, key);
  }
}

function checkName(name: string, what: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(name)) {
    throw new Error('preference ' + what + ' "' + String(name) + '": 1 to ' + MAX_KEY_LENGTH + ' printable ASCII characters');
  }
}
