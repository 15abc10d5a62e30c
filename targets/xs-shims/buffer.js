/**
 * The subset of Node's Buffer that mqtt-packet 9 uses (generate.js, writeToStream.js, numbers.js,
 * constants.js, parser.js via bl), on Uint8Array. Bundled in place of `buffer` for XS.
 *
 * Used by mqtt-packet: Buffer.alloc, allocUnsafe, from(array), isBuffer, byteLength(string |
 * bytes), `instanceof Buffer`; buf.writeUInt8, writeUInt32BE, subarray (must stay a Buffer:
 * numbers.js checks it), copy(target, offset), write(string, offset), length.
 * Also provided for bl.js and callers: from(string | ArrayBuffer | view), concat, slice (a view,
 * as in Node), toString('utf8' | 'hex' | 'latin1', start, end), readUInt8/16BE/32BE,
 * writeUInt16BE, equals.
 *
 * Preload-safe: no writes to statics or prototypes after load, and no module state: UTF-8 goes
 * through src/platform/utf8 (the native TextEncoder/TextDecoder, kept on the global object), never
 * a charCodeAt loop (XS keeps strings as UTF-8, so a JavaScript loop is quadratic there). mqtt-packet
 * measures a string more than once, so CONNECT and SUBSCRIBE encode their strings two or three
 * times; they are sent once per connection, and PUBLISH does not come here (publish-encoder.ts).
 */
import { utf8Decode, utf8Encode as utf8 } from '../../src/platform/utf8';

export class Buffer extends Uint8Array {
  static alloc(size) {
    return new Buffer(size);
  }

  static allocUnsafe(size) {
    return new Buffer(size);
  }

  static from(value, offsetOrEncoding, length) {
    if (typeof value === 'string') {
      if (offsetOrEncoding === 'hex') {
        const result = new Buffer(value.length >> 1);
        for (let i = 0; i < result.length; i++) result[i] = parseInt(value.substr(i * 2, 2), 16);
        return result;
      }
      if (offsetOrEncoding === 'latin1' || offsetOrEncoding === 'binary') {
        const result = new Buffer(value.length);
        for (let i = 0; i < result.length; i++) result[i] = value.charCodeAt(i);
        return result;
      }
      const bytes = encode(value);
      return new Buffer(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    if (value instanceof ArrayBuffer) {
      const offset = offsetOrEncoding || 0;
      return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length);
    }
    // Array, Buffer or other array-like: a copy, as in Node.
    const result = new Buffer(value.length);
    result.set(value);
    return result;
  }

  static isBuffer(value) {
    return value instanceof Buffer;
  }

  static byteLength(value) {
    if (typeof value === 'string') return utf8(value).length;
    return value.byteLength;
  }

  static concat(list, totalLength) {
    let length = totalLength;
    if (length === undefined) {
      length = 0;
      for (let i = 0; i < list.length; i++) length += list[i].length;
    }
    const result = new Buffer(length);
    let offset = 0;
    for (let i = 0; i < list.length && offset < length; i++) {
      const item = list[i];
      const n = Math.min(item.length, length - offset);
      result.set(n === item.length ? item : item.subarray(0, n), offset);
      offset += n;
    }
    return result;
  }

  // Node: slice is a view sharing memory, like subarray.
  slice(start, end) {
    return this.subarray(start, end);
  }

  copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    if (sourceStart === 0 && sourceEnd === this.length && targetStart + this.length <= target.length) {
      target.set(this, targetStart);
      return this.length;
    }
    const n = Math.min(sourceEnd - sourceStart, target.length - targetStart);
    if (n <= 0) return 0;
    target.set(this.subarray(sourceStart, sourceStart + n), targetStart);
    return n;
  }

  /** write(string, offset = 0): UTF-8 only; returns the number of bytes written. */
  write(string, offset = 0) {
    if (typeof offset !== 'number') offset = 0; // write(string, 'utf8')
    const bytes = utf8(string);
    const n = Math.min(bytes.length, this.length - offset);
    if (n <= 0) return 0;
    this.set(n === bytes.length ? bytes : bytes.subarray(0, n), offset);
    return n;
  }

  toString(encoding, start = 0, end = this.length) {
    if (start < 0) start = 0;
    if (end > this.length) end = this.length;
    if (end <= start) return '';
    if (encoding === 'hex') {
      let s = '';
      for (let i = start; i < end; i++) s += (this[i] < 16 ? '0' : '') + this[i].toString(16);
      return s;
    }
    if (encoding === 'latin1' || encoding === 'binary') {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(this[i]);
      return s;
    }
    // A plain Uint8Array view: subarray() on a Buffer runs the Buffer constructor (species), three
    // frames on the XS stack under mqtt-packet's parse of every PUBLISH topic (the deepest path).
    return utf8Decode(start === 0 && end === this.length ? this : new Uint8Array(this.buffer, this.byteOffset + start, end - start));
  }

  equals(other) {
    if (other.length !== this.length) return false;
    for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
    return true;
  }

  readUInt8(offset = 0) {
    return this[offset];
  }

  readUInt16BE(offset = 0) {
    return (this[offset] << 8) | this[offset + 1];
  }

  readUInt32BE(offset = 0) {
    return this[offset] * 0x1000000 + ((this[offset + 1] << 16) | (this[offset + 2] << 8) | this[offset + 3]);
  }

  writeUInt8(value, offset = 0) {
    this[offset] = value;
    return offset + 1;
  }

  writeUInt16BE(value, offset = 0) {
    this[offset] = value >>> 8;
    this[offset + 1] = value;
    return offset + 2;
  }

  writeUInt32BE(value, offset = 0) {
    this[offset] = value >>> 24;
    this[offset + 1] = value >>> 16;
    this[offset + 2] = value >>> 8;
    this[offset + 3] = value;
    return offset + 4;
  }
}

// Named and frozen: a preloaded module's table must not stay writable (DESIGN.md, preload).
const bufferModule = Object.freeze({ Buffer });
export default bufferModule;
