/**
 * The subset of `bl` (BufferList) that mqtt-packet's parser uses: bl(), append, length, consume,
 * slice, toString('utf8', start, end), readUInt8, readUInt16BE, readUInt32BE (and get).
 * The bytes are kept as one contiguous Buffer view: appending to an empty list keeps the caller's
 * bytes without a copy (codec.ts feeds one whole frame at a time), later appends concatenate.
 * slice() returns a view, as bl does for a single buffer: parsed payloads alias the input frame.
 * Default export only: rollup commonjs (requireReturnsDefault "auto") then hands `require("bl")`
 * the function itself.
 */
import { Buffer } from './buffer.js';

const empty = new Buffer(0);

function asBuffer(chunk) {
  if (chunk instanceof Buffer) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof ArrayBuffer) return new Buffer(chunk);
  return new Buffer(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * The unread bytes are `_buf[_start .. _start + length)`. consume() moves `_start`: a new view per
 * consume, as before, ran the Buffer constructor (subarray's species) for every field mqtt-packet
 * reads, which made its parse of one RPC request cost more than the rest of the RPC on XS
 * (bench:xs, piece rpcParse).
 */
class BufferList {
  constructor(initial) {
    this._buf = empty;
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
    const bytes = asBuffer(chunk);
    if (bytes.length === 0) return this;
    if (this.length === 0) {
      this._buf = bytes;
      this._start = 0;
    } else {
      const joined = new Buffer(this.length + bytes.length);
      joined.set(new Uint8Array(this._buf.buffer, this._buf.byteOffset + this._start, this.length), 0);
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
      this._buf = empty;
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

  /** A Buffer view of [start, end) of the unread bytes (no copy), as bl for a single buffer. */
  slice(start = 0, end = this.length) {
    if (end > this.length) end = this.length;
    if (start > end) start = end;
    return this._buf.subarray(this._start + start, this._start + end);
  }

  toString(encoding, start = 0, end = this.length) {
    if (end > this.length) end = this.length;
    if (start > end) start = end;
    return this._buf.toString(encoding, this._start + start, this._start + end);
  }

  readUInt8(offset = 0) {
    if (offset >= this.length) throw new RangeError('Attempt to access memory outside buffer bounds');
    return this._buf[this._start + offset];
  }

  readUInt16BE(offset = 0) {
    if (offset + 2 > this.length) throw new RangeError('Attempt to access memory outside buffer bounds');
    return this._buf.readUInt16BE(this._start + offset);
  }

  readUInt32BE(offset = 0) {
    if (offset + 4 > this.length) throw new RangeError('Attempt to access memory outside buffer bounds');
    return this._buf.readUInt32BE(this._start + offset);
  }
}

export default function bl(initial) {
  return new BufferList(initial);
}
