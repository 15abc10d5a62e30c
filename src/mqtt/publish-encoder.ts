import { intoEncoder, isAsciiWrite, utf8Encode } from '../platform/utf8';
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
 */
export function encodePublish(topic: string, payload: string | Uint8Array, qos: 0 | 1, retain: boolean): EncodedPublish {
  const into = isString(payload) ? intoEncoder() : undefined;
  if (into !== undefined) {
    // ASCII topic and payload (telemetry, RPC replies): written straight into the packet, no
    // intermediate arrays and no copies (the calls inline: this runs on every publish).
    const text = payload as string;
    const t = topic.length;
    const p = text.length;
    const packet = layoutPublish(t, p, qos, retain);
    const bytes = packet.bytes;
    const at = packet.idOffset;
    const payloadAt = at + (qos > 0 ? 2 : 0);
    if (isAsciiWrite(into.encodeInto(topic, bytes.subarray(at - t, at)), t) && isAsciiWrite(into.encodeInto(text, bytes.subarray(payloadAt)), p)) {
      if (qos === 0) packet.idOffset = 0;
      return packet;
    }
  }
  // Native TextEncoder where there is one (see platform/utf8.ts): one small copy beats a
  // JavaScript loop over the string on XS.
  const topicBytes = utf8Encode(topic);
  const payloadBytes = isString(payload) ? utf8Encode(payload) : payload;
  const packet = layoutPublish(topicBytes.length, payloadBytes.length, qos, retain);
  const bytes = packet.bytes;
  bytes.set(topicBytes, packet.idOffset - topicBytes.length);
  bytes.set(payloadBytes, packet.idOffset + (qos > 0 ? 2 : 0));
  if (qos === 0) packet.idOffset = 0;
  return packet;
}

/**
 * A PUBLISH with its fixed header and topic length written, room for the topic, packet id and
 * payload; idOffset is where the packet id goes (QoS 1) or would go (QoS 0: the payload starts
 * there), i.e. just after the topic.
 */
function layoutPublish(topicLength: number, payloadLength: number, qos: 0 | 1, retain: boolean): EncodedPublish {
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + payloadLength;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
  const bytes = new Uint8Array(1 + lengthBytes + remaining);
  bytes[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  // One or two length bytes inline (every packet under 16 KiB): one call less on the XS stack,
  // where this is the innermost frame of every publish.
  let o: number;
  if (lengthBytes === 1) {
    bytes[1] = remaining;
    o = 2;
  } else if (lengthBytes === 2) {
    bytes[1] = (remaining & 0x7f) | 0x80;
    bytes[2] = remaining >> 7;
    o = 3;
  } else o = writeRemainingLength(bytes, 1, remaining);
  bytes[o] = topicLength >> 8;
  bytes[o + 1] = topicLength & 0xff;
  return { bytes, idOffset: o + 2 + topicLength };
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
