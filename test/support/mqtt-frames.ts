/**
 * Minimal MQTT 3.1.1 framing for test tools: finds packet boundaries in a byte stream from the
 * fixed header (type/flags byte + remaining length of 1..4 bytes). It never looks inside a packet.
 */

/** MQTT control packet types (high nibble of the first byte). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

export type PacketTypeName = keyof typeof PacketType;

const NAMES: readonly string[] = [
  'reserved0', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp',
  'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'reserved15',
];

/** Largest value a 4-byte remaining length can carry (268,435,455). */
export const MAX_REMAINING_LENGTH = 0x0fff_ffff;

/** Packet type number (1..14) of a frame. */
export function packetType(frame: Uint8Array): number {
  if (frame.length === 0) throw new Error('empty frame');
  return frame[0]! >> 4;
}

/** Lower-case packet type name ('publish', 'puback', ...) of a frame. */
export function packetTypeName(frame: Uint8Array): string {
  return NAMES[packetType(frame)]!;
}

/** Encodes a remaining length as 1..4 bytes (7 bits per byte, continuation bit 0x80). */
export function encodeRemainingLength(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_REMAINING_LENGTH) {
    throw new RangeError(`remaining length out of range: ${length}`);
  }
  const bytes: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return Buffer.from(bytes);
}

export interface RemainingLength {
  /** Decoded remaining length. */
  value: number;
  /** How many bytes the encoding took (1..4). */
  bytes: number;
}

/**
 * Decodes the remaining length starting at `offset` (the byte after the type/flags byte).
 * Returns null if more bytes are needed; throws if a 4th byte still has its continuation bit set.
 */
export function decodeRemainingLength(buf: Uint8Array, offset: number): RemainingLength | null {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    if (offset + i >= buf.length) return null;
    const byte = buf[offset + i]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 };
    multiplier *= 128;
  }
  throw new Error('malformed remaining length: more than 4 bytes');
}

/** Builds a whole frame from a first byte and a body (the variable header + payload). */
export function buildFrame(firstByte: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  return Buffer.concat([Buffer.from([firstByte & 0xff]), encodeRemainingLength(body.length), body]);
}

export interface MqttFramerOptions {
  /** Largest accepted frame (header included); bigger ones make push() throw. Default: no cap. */
  maxFrameSize?: number;
}

/**
 * Incremental framer: push() arbitrary chunks, get back every packet completed so far, each one a
 * separate Buffer holding the fixed header and body. Bytes of an incomplete packet are kept.
 * After push() throws (malformed length or frame too big) the framer is unusable until reset().
 */
export class MqttFramer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Size of the head packet once its header is known, so partial data is not re-scanned. */
  private needed = 0;
  private failed: Error | null = null;
  private readonly maxFrameSize: number;

  constructor(options: MqttFramerOptions = {}) {
    this.maxFrameSize = options.maxFrameSize ?? Number.POSITIVE_INFINITY;
  }

  /** Bytes held that do not yet form a complete packet. */
  get buffered(): number {
    return this.size;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.size += chunk.length;
    }
    const frames: Buffer[] = [];
    if (this.size === 0 || this.size < this.needed) return frames;
    this.needed = 0;
    let data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    let offset = 0;
    try {
      while (data.length - offset >= 2) {
        const rl = decodeRemainingLength(data, offset + 1);
        if (rl === null) break;
        const total = 1 + rl.bytes + rl.value;
        if (total > this.maxFrameSize) {
          throw new Error(`frame of ${total} bytes exceeds maxFrameSize ${this.maxFrameSize}`);
        }
        if (data.length - offset < total) {
          this.needed = total;
          break;
        }
        // Copy so a frame never aliases the caller's chunk or a later frame.
        frames.push(Buffer.from(data.subarray(offset, offset + total)));
        offset += total;
      }
    } catch (err) {
      this.failed = err as Error;
      throw err;
    }
    data = data.subarray(offset);
    this.chunks = data.length > 0 ? [Buffer.from(data)] : [];
    this.size = data.length;
    return frames;
  }

  /** Drops held bytes and any failure. */
  reset(): void {
    this.chunks = [];
    this.size = 0;
    this.needed = 0;
    this.failed = null;
  }
}

/** Splits a buffer holding whole packets; throws if it ends inside a packet. */
export function splitFrames(data: Uint8Array): Buffer[] {
  const framer = new MqttFramer();
  const frames = framer.push(data);
  if (framer.buffered !== 0) throw new Error(`${framer.buffered} trailing bytes do not form a packet`);
  return frames;
}
