import { malformed, MqttError } from './errors';
import { writeRemainingLength } from './publish-encoder';

/**
 * Cuts the inbound byte stream into whole MQTT packets before anything parses them.
 *
 * mqtt-packet reads across packet boundaries and has no size cap, so it only ever sees one
 * complete frame from here. A packet over `maxPacketBytes` is refused as soon as its remaining
 * length is known, before any of its body is buffered.
 *
 * Pull, not push: feed() a chunk, then call next() until it returns undefined. The session
 * handles each frame in its own loop, so no callback sits between the socket and the packet
 * handler on the XS stack (DESIGN.md: a Moddable app has 384 stack slots unless told otherwise).
 */
export class Framer {
  private header_ = 0; // first byte of the packet being read
  private lengthValue_ = 0;
  private lengthMultiplier_ = 1;
  private lengthBytes_ = 0;
  private state_: 0 | 1 | 2 = 0; // 0: fixed header byte, 1: remaining length, 2: body
  private frame_: Uint8Array | undefined;
  private filled_ = 0;
  /** The chunk being cut and where the next unread byte is. */
  private chunk_: Uint8Array | undefined;
  private index_ = 0;

  constructor(private readonly maxPacketBytes_: number) {}

  /**
   * Hands over the next chunk of the stream; next() reads it. The chunk is used in place while
   * the caller pulls frames; call hold() before returning to the socket with bytes left unread.
   * Bytes still unread from an earlier chunk come first.
   */
  feed(chunk: Uint8Array): void {
    const rest = this.unread;
    if (rest > 0) {
      const joined = new Uint8Array(rest + chunk.length);
      joined.set((this.chunk_ as Uint8Array).subarray(this.index_), 0);
      joined.set(chunk, rest);
      chunk = joined;
    }
    this.chunk_ = chunk;
    this.index_ = 0;
  }

  /** Nothing unread and no packet half read: the next byte fed starts a packet. */
  get idle(): boolean {
    const chunk = this.chunk_;
    return this.state_ === 0 && (chunk === undefined || this.index_ >= chunk.length);
  }

  /** Bytes fed and not yet read by next(). */
  get unread(): number {
    return this.chunk_ ? this.chunk_.length - this.index_ : 0;
  }

  /**
   * The packet id of a whole PUBACK (40 02 id id) at the start of the unread bytes, consumed; 0
   * when the next bytes are anything else, or a PUBACK with id 0, which next() then cuts and
   * decodeFrame refuses [MQTT-2.3.1-1]. The one packet a publishing device gets per message skips
   * the frame copy and the decoder: measured on XS, 822 computrons per PUBACK through next() and
   * decodeFrame, about 100 here (bench:xs, piece ackPath).
   */
  puback(): number {
    const chunk = this.chunk_;
    if (this.state_ !== 0 || !chunk) return 0;
    const i = this.index_;
    if (i + 4 > chunk.length || chunk[i] !== 0x40 || chunk[i + 1] !== 2) return 0;
    const id = (chunk[i + 2] << 8) | chunk[i + 3];
    if (id !== 0) this.index_ = i + 4;
    return id;
  }

  /**
   * When nothing is held and `bytes` is exactly one packet under 16 KiB and within the cap (what
   * most socket reads are: an RPC request, a SUBACK, a CONNACK), that packet as a fresh copy, cut
   * without feed() and next(): 324 computrons less per RPC on XS (bench:xs). Else undefined, and
   * the caller feeds it. A non-minimal length (80 00) is left to next(), to be refused there.
   */
  whole(bytes: Uint8Array): Uint8Array | undefined {
    if (!this.idle) return undefined;
    const n = bytes.length;
    const b1 = bytes[1];
    const end = b1 < 0x80 ? 2 + b1 : bytes[2] > 0 && bytes[2] < 0x80 ? 3 + ((b1 & 0x7f) | (bytes[2] << 7)) : -1;
    return end === n && n <= this.maxPacketBytes_ ? copyOf(bytes, 0, n) : undefined;
  }

  /** Keeps its own copy of the unread bytes, so the socket may reuse its buffer. */
  hold(): void {
    if (this.unread > 0) {
      const chunk = this.chunk_ as Uint8Array;
      this.chunk_ = copyOf(chunk, this.index_, chunk.length);
      this.index_ = 0;
    }
  }

  /**
   * The next complete packet (a fresh array the receiver may keep), undefined when the chunk is
   * used up, or an MqttError at the first framing error; after an error the caller must drop the
   * connection and start over with reset().
   */
  next(): Uint8Array | MqttError | undefined {
    const chunk = this.chunk_;
    if (!chunk) return undefined;
    const n = chunk.length;
    let i = this.index_;
    if (i >= n) {
      this.chunk_ = undefined;
      return undefined;
    }
    if (this.state_ === 0 && i + 1 < n && chunk[i + 1] < 0x80) {
      // The common case, a packet under 128 bytes wholly in this chunk (an RPC request, a
      // SUBACK), cut in one step: the state machine below, one byte a turn, cost about 700
      // computrons a frame on XS (measured on xsnap), this about 100.
      const end = i + 2 + chunk[i + 1];
      if (end <= n) {
        if (end - i > this.maxPacketBytes_) return this.next_(chunk, n, i);
        this.index_ = end;
        return copyOf(chunk, i, end);
      }
    }
    return this.next_(chunk, n, i);
  }

  /** The byte-at-a-time state machine: long packets, and packets split across chunks. */
  private next_(chunk: Uint8Array, n: number, i: number): Uint8Array | MqttError | undefined {
    while (i < n) {
      if (this.state_ === 0) {
        this.header_ = chunk[i++];
        this.lengthValue_ = 0;
        this.lengthMultiplier_ = 1;
        this.lengthBytes_ = 0;
        this.state_ = 1;
        continue;
      }
      if (this.state_ === 1) {
        const b = chunk[i++];
        this.lengthValue_ += (b & 0x7f) * this.lengthMultiplier_;
        this.lengthMultiplier_ *= 128;
        this.lengthBytes_++;
        if (b & 0x80) {
          // The remaining length takes at most four bytes [MQTT-2.2.3].
          if (this.lengthBytes_ === 4) return this.fail_(malformed('remaining length longer than 4 bytes'));
          continue;
        }
        const total = 1 + this.lengthBytes_ + this.lengthValue_;
        if (total > this.maxPacketBytes_) {
          return this.fail_(
            new MqttError('packet-too-large', 'inbound packet of ' + total + ' bytes is over the ' + this.maxPacketBytes_ + '-byte cap'),
          );
        }
        const frame = new Uint8Array(total);
        frame[0] = this.header_;
        const o = writeRemainingLength(frame, 1, this.lengthValue_);
        // A non-minimal length encoding (e.g. 0x80 0x00) is re-encoded shorter above; refuse it.
        if (o !== 1 + this.lengthBytes_) return this.fail_(malformed('remaining length not minimally encoded'));
        this.frame_ = frame;
        this.filled_ = o;
        this.state_ = 2;
        if (o === total) return this.complete_(i);
        continue;
      }
      const frame = this.frame_ as Uint8Array;
      const take = Math.min(frame.length - this.filled_, n - i);
      frame.set(chunk.subarray(i, i + take), this.filled_);
      this.filled_ += take;
      i += take;
      if (this.filled_ === frame.length) return this.complete_(i);
    }
    this.chunk_ = undefined;
    return undefined;
  }

  /** Bytes held for a packet not yet complete: stays below the cap by construction. */
  get buffered(): number {
    return this.state_ === 2 ? this.filled_ : 0;
  }

  reset(): void {
    this.state_ = 0;
    this.frame_ = undefined;
    this.filled_ = 0;
    this.chunk_ = undefined;
  }

  private complete_(index: number): Uint8Array {
    const frame = this.frame_ as Uint8Array;
    this.state_ = 0;
    this.frame_ = undefined;
    this.filled_ = 0;
    this.index_ = index;
    return frame;
  }

  private fail_(error: MqttError): MqttError {
    this.reset();
    return error;
  }
}

/**
 * A fresh copy of bytes[start, end). Through ArrayBuffer slice: on XS a Uint8Array's slice() or
 * set() is metered per byte (170 computrons for 70 bytes on xsnap), the buffer's slice is not
 * (28), and on the device both are one memcpy.
 */
export function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const at = bytes.byteOffset;
  return new Uint8Array((bytes.buffer as ArrayBuffer).slice(at + start, at + end));
}
