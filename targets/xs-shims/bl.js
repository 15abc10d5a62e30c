/**
 * The subset of `bl` (BufferList) that mqtt-packet's parser uses: bl(), append, length, consume,
 * slice, toString('utf8', start, end), readUInt8, readUInt16BE, readUInt32BE (and get).
 * The bytes are kept as one contiguous Uint8Array: appending to an empty list keeps the caller's
 * bytes without a copy (codec.ts feeds one whole frame at a time), later appends concatenate.
 * slice() returns a view, as bl does for a single buffer: parsed payloads alias the input frame.
 * Default export only: rollup commonjs (requireReturnsDefault "auto") then hands `require("bl")`
 * the function itself.
 *
 * Plain Uint8Arrays inside, not the Buffer shim: on XS every Buffer made (a view of an appended
 * frame, and each subarray(), whose species is Buffer) runs the derived class constructor, which
 * made append and slice cost 320 and 169 computrons a PUBLISH parse (measured on xsnap); what
 * mqtt-packet hands out of slice() (payloads, passwords) only needs to be a Uint8Array here.
 */
import { Buffer } from './buffer.js';
import { utf8Decode } from '../../src/platform/utf8';

function asBytes(chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function outOfBounds() {
  return new RangeError('Attempt to access memory outside buffer bounds');
}

/**
 * The unread bytes are `_buf[_start .. _start + length)` (`_buf` undefined when empty). consume()
 * moves `_start`: a new view per consume, as before, cost a constructor for every field
 * mqtt-packet reads (bench:xs, piece rpcParse).
 */
class BufferList {
  constructor(initial) {
    this._buf = undefined;
    this._start = 0;
    this.length = 0;
    if (initial) this.append(initial);
  }

  append(chunk) {
    if (chunk instanceof BufferList) chunk = chunk.slice();
    else if (Array.isArray(chunk)) {
      for (let i = 0; i < chunk.length; i++) this.append(chunk[i]);
      return this;
    }
    const bytes = asBytes(chunk);
    if (bytes.length === 0) return this;
    if (this.length === 0) {
      this._buf = bytes;
      this._start = 0;
    } else {
      const joined = new Uint8Array(this.length + bytes.length);
      joined.set(this._buf.subarray(this._start, this._start + this.length), 0);
      joined.set(bytes, this.length);
      this._buf = joined;
      this._start = 0;
    }
    this.length = this._buf.length - this._start;
    return this;
  }

  consume(bytes) {
    bytes = Math.trunc(bytes);
    if (!(bytes > 0)) return this; // NaN, 0, negative: nothing, as bl
    if (bytes >= this.length) {
      this._buf = undefined;
      this._start = 0;
      this.length = 0;
    } else {
      this._start += bytes;
      this.length -= bytes;
    }
    return this;
  }

  get(index) {
    return index < this.length ? this._buf[this._start + index] : undefined;
  }

  /** A view of [start, end) of the unread bytes (no copy), as bl for a single buffer. */
  slice(start = 0, end = this.length) {
    if (end > this.length) end = this.length;
    if (start > end) start = end;
    if (this._buf === undefined) return new Uint8Array(0);
    return this._buf.subarray(this._start + start, this._start + end);
  }

  toString(encoding, start = 0, end = this.length) {
    if (end > this.length) end = this.length;
    if (start > end) start = end;
    if (start === end) return '';
    const from = this._start + start;
    const to = this._start + end;
    if (encoding === undefined || encoding === 'utf8' || encoding === 'utf-8') return utf8Decode(this._buf, from, to);
    return Buffer.prototype.toString.call(this._buf, encoding, from, to);
  }

  readUInt8(offset = 0) {
    if (offset >= this.length) throw outOfBounds();
    return this._buf[this._start + offset];
  }

  readUInt16BE(offset = 0) {
    if (offset + 2 > this.length) throw outOfBounds();
    const at = this._start + offset;
    const b = this._buf;
    return (b[at] << 8) | b[at + 1];
  }

  readUInt32BE(offset = 0) {
    if (offset + 4 > this.length) throw outOfBounds();
    const at = this._start + offset;
    const b = this._buf;
    return b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
  }
}

export default function bl(initial) {
  return new BufferList(initial);
}
