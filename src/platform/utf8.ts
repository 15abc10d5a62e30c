/**
 * UTF-8 for portable code. The native TextEncoder/TextDecoder are used when the global exists
 * (Node, xsnap; on a Moddable device the target installs them from text/encoder and text/decoder):
 * on XS a JavaScript loop over charCodeAt(i) is quadratic, because XS keeps strings as UTF-8 and
 * each charCodeAt walks from the start (measured in targets/xsnap: 7,138 computrons for an 84-byte
 * publish in JavaScript, 408 with the native encoder). The JavaScript versions below are the
 * fallback where no native codec exists.
 */

interface NativeEncoder {
  encode(input: string): Uint8Array;
}
interface NativeDecoder {
  decode(input: Uint8Array): string;
}
interface TextGlobals {
  TextEncoder?: new () => NativeEncoder;
  TextDecoder?: new () => NativeDecoder;
}

// Created on first use, never at module load: a preloaded module must not touch host objects at
// top level. An object in a module const may be written at run time after preload; a module let
// holding a function may not.
const native: { encoder?: NativeEncoder | null; decoder?: NativeDecoder | null } = {};

function nativeEncoder(): NativeEncoder | null {
  if (native.encoder === undefined) {
    const E = (globalThis as TextGlobals).TextEncoder;
    native.encoder = typeof E === 'function' ? new E() : null;
  }
  return native.encoder;
}

function nativeDecoder(): NativeDecoder | null {
  if (native.decoder === undefined) {
    const D = (globalThis as TextGlobals).TextDecoder;
    native.decoder = typeof D === 'function' ? new D() : null;
  }
  return native.decoder;
}

/** Number of bytes `text` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/** Writes `text` as UTF-8 into `target` at `offset`; returns the offset after the last byte. */
export function utf8Write(text: string, target: Uint8Array, offset: number): number {
  let o = offset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      target[o++] = c;
      continue;
    }
    if (c < 0x800) {
      target[o++] = 0xc0 | (c >> 6);
      target[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      target[o++] = 0xf0 | (c >> 18);
      target[o++] = 0x80 | ((c >> 12) & 0x3f);
      target[o++] = 0x80 | ((c >> 6) & 0x3f);
      target[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
    target[o++] = 0xe0 | (c >> 12);
    target[o++] = 0x80 | ((c >> 6) & 0x3f);
    target[o++] = 0x80 | (c & 0x3f);
  }
  return o;
}

export function utf8Encode(text: string): Uint8Array {
  const encoder = nativeEncoder();
  return encoder ? encoder.encode(text) : jsUtf8Encode(text);
}

/** The JavaScript encoder (exported for tests of the fallback). */
export function jsUtf8Encode(text: string): Uint8Array {
  const bytes = new Uint8Array(utf8Length(text));
  utf8Write(text, bytes, 0);
  return bytes;
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

/** Decodes UTF-8; invalid sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const decoder = nativeDecoder();
  if (decoder) return decoder.decode(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  return jsUtf8Decode(bytes, start, end);
}

/** The JavaScript decoder (exported for tests of the fallback). */
export function jsUtf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let out = '';
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      // Runs of ASCII are the common case in JSON: take them in one go.
      let j = i + 1;
      while (j < end && bytes[j] < 0x80 && j - i < 1024) j++;
      out += String.fromCharCode.apply(null, bytes.subarray(i, j) as unknown as number[]);
      i = j;
      continue;
    }
    let need = 0;
    let cp = 0;
    let min = 0;
    if ((b & 0xe0) === 0xc0) {
      need = 1;
      cp = b & 0x1f;
      min = 0x80;
    } else if ((b & 0xf0) === 0xe0) {
      need = 2;
      cp = b & 0x0f;
      min = 0x800;
    } else if ((b & 0xf8) === 0xf0) {
      need = 3;
      cp = b & 0x07;
      min = 0x10000;
    } else {
      out += '\ufffd';
      i++;
      continue;
    }
    let ok = i + need < end;
    for (let k = 1; ok && k <= need; k++) {
      const n = bytes[i + k];
      if ((n & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (n & 0x3f);
    }
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += '\ufffd';
      i++;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else out += String.fromCharCode(cp);
    i += need + 1;
  }
  return out;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
