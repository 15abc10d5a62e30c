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

class BufferList {
  constructor(initial) {
    this._buf = empty;
    this.length = 0;
    if (initial) this.append(initial);
  }

  append(chunk) {
    if (chunk instanceof BufferList) chunk = chunk._buf;
    else if (Array.isArray(chunk)) {
      for (let i = 0; i < chunk.length; i++) this.append(chunk[i]);
      return this;
    }
    const bytes = asBuffer(chunk);
    if (bytes.length === 0) return this;
    if (this.length === 0) this._buf = bytes;
    else {
      const joined = new Buffer(this.length + bytes.length);
      joined.set(this._buf, 0);
      joined.set(bytes, this.length);
      this._buf = joined;
    }
    this.length = this._buf.length;
    return this;
  }

  consume(bytes) {
    bytes = Math.trunc(bytes);
    if (!(bytes > 0)) return this; // NaN, 0, negative: nothing, as bl
    if (bytes >= this.length) {
      this._buf = empty;
      this.length = 0;
    } else {
      this._buf = this._buf.subarray(bytes);
      this.length = this._buf.length;
    }
    return this;
  }

  get(index) {
    return this._buf[index];
  }

  slice(start = 0, end = this.length) {
    return this._buf.subarray(start, end);
  }

  toString(encoding, start, end) {
    return this._buf.toString(encoding, start, end);
  }

  readUInt8(offset = 0) {
    if (offset >= this.length) throw new RangeError('Attempt to access memory outside buffer bounds');
    return this._buf[offset];
  }

  readUInt16BE(offset = 0) {
    if (offset + 2 > this.length) throw new RangeError('Attempt to access memory outside buffer bounds');
    return this._buf.readUInt16BE(offset);
  }

  readUInt32BE(offset = 0) {
    if (offset + 4 > this.length) throw new RangeError('Attempt to access memory outside buffer bounds');
    return this._buf.readUInt32BE(offset);
  }
}

export default function bl(initial) {
  return new BufferList(initial);
}
