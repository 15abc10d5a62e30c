import { intoEncoder, type IntoEncoder, utf8Encode } from '../platform/utf8';
import { isString } from '../platform/guards';

/**
 * Hand encoder for the hot path: PUBLISH, PUBACK and PINGREQ.
 *
 * Why not mqtt-packet: measured on XS per 84-byte QoS 1 PUBLISH, mqtt-packet with a Buffer shim
 * costs ~2,870 computrons and 131 slots (it measures each string two or three times and builds
 * Buffers), a direct Uint8Array encoder ~555 / 24 (DESIGN.md, facts). Our target is <= 1,500 per
 * publish, so the packets sent on every cycle are written here; test/unit/mqtt-codec.test.ts checks
 * the bytes against mqtt-packet's generate() for every shape.
 */

export interface EncodedPublish {
  bytes: Uint8Array;
  /** Offset of the 2-byte packet id (QoS 1), filled in when the packet is sent; 0 for QoS 0. */
  idOffset: number;
}

/**
 * Encodes a PUBLISH with packet id 0 (set later with setPacketId). The topic must have passed
 * checkTopicName.
 *
 * One frame, no helpers: this is the innermost frame of every publish, and publishes start from
 * deep stacks (a handler's client-side RPC, a SUBACK callback); a layout helper's frame overflowed
 * 75% of the device's stack (test/xs/xs-stack.test.ts).
 */
export function encodePublish(topic: string, payload: string | Uint8Array, qos: 0 | 1, retain: boolean): EncodedPublish {
  // First pass, strings: assume ASCII and write them straight into the packet with the native
  // encodeInto (no intermediate arrays, no copies: TypedArray set() is metered per byte on XS).
  // Not ASCII, or no encodeInto: encode both (native TextEncoder) and copy them in. Few locals
  // and no nested calls: every one is a slot of this frame or of the calls above it.
  const into = isString(payload) ? intoEncoder() : undefined;
  let topicBytes: Uint8Array | undefined;
  let payloadBytes: Uint8Array | undefined;
  if (into === undefined) {
    topicBytes = utf8Encode(topic);
    payloadBytes = isString(payload) ? utf8Encode(payload) : payload;
  }
  for (;;) {
    const t = topicBytes ? topicBytes.length : topic.length;
    const remaining = 2 + t + (qos > 0 ? 2 : 0) + (payloadBytes ? payloadBytes.length : payload.length);
    const bytes = new Uint8Array((remaining < 128 ? 2 : remaining < 16384 ? 3 : remaining < 2097152 ? 4 : 5) + remaining);
    bytes[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
    // One or two length bytes inline (every packet under 16 KiB).
    let o: number;
    if (remaining < 128) {
      bytes[1] = remaining;
      o = 2;
    } else if (remaining < 16384) {
      bytes[1] = (remaining & 0x7f) | 0x80;
      bytes[2] = remaining >> 7;
      o = 3;
    } else o = writeRemainingLength(bytes, 1, remaining);
    bytes[o] = t >> 8;
    bytes[o + 1] = t & 0xff;
    o += 2;
    if (topicBytes !== undefined) {
      bytes.set(topicBytes, o);
      bytes.set(payloadBytes as Uint8Array, o + t + (qos > 0 ? 2 : 0));
      return { bytes, idOffset: qos > 0 ? o + t : 0 };
    }
    // Read whole and exactly filled: the string was ASCII (see intoEncoder).
    let view = bytes.subarray(o, o + t);
    let r = (into as IntoEncoder).encodeInto(topic, view);
    if (r.read === t && r.written === t) {
      view = bytes.subarray(o + t + (qos > 0 ? 2 : 0));
      r = (into as IntoEncoder).encodeInto(payload as string, view);
      if (r.read === view.length && r.written === view.length) return { bytes, idOffset: qos > 0 ? o + t : 0 };
    }
    topicBytes = utf8Encode(topic);
    payloadBytes = utf8Encode(payload as string);
  }
}

export function setPacketId(bytes: Uint8Array, idOffset: number, id: number): void {
  bytes[idOffset] = id >> 8;
  bytes[idOffset + 1] = id & 0xff;
}

/** Marks a PUBLISH as a redelivery [MQTT-3.3.1-1]. */
export function setDup(bytes: Uint8Array): void {
  bytes[0] |= 0x08;
}

export function encodePuback(id: number): Uint8Array {
  const bytes = new Uint8Array(4);
  bytes[0] = 0x40;
  bytes[1] = 2;
  bytes[2] = id >> 8;
  bytes[3] = id & 0xff;
  return bytes;
}

/** The answer to a PUBREL [MQTT-3.7]. */
export function encodePubcomp(id: number): Uint8Array {
  const bytes = encodePuback(id);
  bytes[0] = 0x70;
  return bytes;
}

export function encodePingreq(): Uint8Array {
  const bytes = new Uint8Array(2);
  bytes[0] = 0xc0;
  return bytes;
}

/** Writes the variable-length Remaining Length [MQTT-2.2.3]; returns the offset after it. */
export function writeRemainingLength(bytes: Uint8Array, offset: number, value: number): number {
  let o = offset;
  let v = value;
  do {
    let digit = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) digit |= 0x80;
    bytes[o++] = digit;
  } while (v > 0);
  return o;
}
