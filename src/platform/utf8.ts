/**
 * UTF-8 for portable code, on the native TextEncoder/TextDecoder: Node and xsnap have them as
 * globals, and on a Moddable device targets/esp32/globals.ts installs them from text/encoder and
 * text/decoder. A JavaScript codec would be both slow on XS (XS keeps strings as UTF-8, so each
 * charCodeAt walks from the start: 7,138 computrons for an 84-byte publish in JavaScript, 408
 * with the native encoder, measured in targets/xsnap) and about 1.4 KB of dead code in the
 * ESP32 bundle, so there is none: without the globals, utf8Encode/utf8Decode throw and say so.
 */

interface NativeEncoder {
  encode(input: string): Uint8Array;
  encodeInto?(input: string, into: Uint8Array): EncodeIntoResult;
}
interface NativeDecoder {
  decode(input: Uint8Array): string;
}
interface TextGlobals {
  TextEncoder?: new () => NativeEncoder;
  TextDecoder?: new () => NativeDecoder;
}

// The encoder and decoder are made on first use, never at module load (a preloaded module must
// not touch host objects at top level), and kept on the global object, which belongs to the
// running machine: a module-level cache object would stay writable after a Moddable preload, an
// alias of RAM that xsl warns about ("not frozen"), and a module let read here would be another
// ("no const").
interface TextCodecs {
  tbxsTextEncoder?: NativeEncoder;
  tbxsTextDecoder?: NativeDecoder;
}

function nativeCodec<T>(name: 'TextEncoder' | 'TextDecoder'): T {
  const C = (globalThis as TextGlobals)[name] as (new () => T) | undefined;
  if (typeof C !== 'function') {
    throw new Error('UTF-8: no global ' + name + '; on Moddable import targets/esp32/globals (text/encoder, text/decoder) first');
  }
  return new C();
}

/** Encodes with the native TextEncoder (lone surrogates become U+FFFD). */
export function utf8Encode(text: string): Uint8Array {
  const g = globalThis as TextCodecs;
  return (g.tbxsTextEncoder ?? (g.tbxsTextEncoder = nativeCodec<NativeEncoder>('TextEncoder'))).encode(text);
}

/** What encodeInto answers: UTF-16 units (Node) or code points (Moddable) read, bytes written. */
export interface EncodeIntoResult {
  read: number;
  written: number;
}

/** The native encoder's encodeInto, for callers that write strings straight into a packet. */
export interface IntoEncoder {
  encodeInto(input: string, into: Uint8Array): EncodeIntoResult;
}

/**
 * The native TextEncoder when it has encodeInto (Node, xsnap, Moddable's text/encoder), else
 * undefined. The hot path's way to put a string into a packet without a copy: measured on
 * xsnap, TypedArray set() of a 210-byte payload costs 368 computrons, encodeInto 18.
 *
 * encodeInto of a string of n UTF-16 units into exactly n bytes wrote all of it (read === n and
 * written === n) only when the string is ASCII: a non-ASCII string needs more bytes than it has
 * units, so it cannot both be read whole and fit (Moddable counts `read` by code point, Node by
 * unit: either is below n when the end was not reached).
 */
export function intoEncoder(): IntoEncoder | undefined {
  const g = globalThis as TextCodecs;
  const encoder = g.tbxsTextEncoder ?? (g.tbxsTextEncoder = nativeCodec<NativeEncoder>('TextEncoder'));
  return encoder.encodeInto === undefined ? undefined : (encoder as IntoEncoder);
}

/**
 * True when bytes[start..end) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * With `forMqtt`, U+0000 is refused too [MQTT-1.5.3-2].
 */
export function isValidUtf8(bytes: Uint8Array, start = 0, end = bytes.length, forMqtt = false): boolean {
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      if (forMqtt && b === 0) return false;
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if ((b & 0xe0) === 0xc0) {
      need = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if ((b & 0xf0) === 0xe0) {
      need = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if ((b & 0xf8) === 0xf0) {
      need = 3;
      min = 0x10000;
      cp = b & 0x07;
    } else return false;
    if (i + need >= end) return false; // truncated sequence
    for (let k = 1; k <= need; k++) {
      const n = bytes[i + k];
      if ((n & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (n & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/** Decodes UTF-8 with the native TextDecoder; invalid sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const g = globalThis as TextCodecs;
  const decoder = g.tbxsTextDecoder ?? (g.tbxsTextDecoder = nativeCodec<NativeDecoder>('TextDecoder'));
  return decoder.decode(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
}
