import { utf8Decode, utf8Encode } from '../platform/utf8';
import type { ConnectFields, MqttCodec, PacketParser, ParsedPublish, ParsedSuback } from './codec-types';
import { writeRemainingLength } from './publish-encoder';
import { isString } from '../platform/guards';

/**
 * A hand-written codec for the packets mqtt-packet-codec.ts handles, in a few hundred bytes of
 * minified code instead of mqtt-packet's 33.6 KB plus 5.1 KB of Node shims (measured on the ESP32
 * bundle): the default in the session and the one XS targets use. Byte-for-byte equal to
 * mqtt-packet: test/unit/mqtt-codec-contract.test.ts runs both through the same fixtures and
 * random packets.
 */

/** Concatenates MQTT fields into one packet: [header][remaining length][parts...]. */
function packet(header: number, parts: Uint8Array[]): Uint8Array {
  let remaining = 0;
  for (const p of parts) remaining += p.length;
  const bytes = new Uint8Array(1 + lengthBytes(remaining) + remaining);
  bytes[0] = header;
  let o = writeRemainingLength(bytes, 1, remaining);
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return bytes;
}

function lengthBytes(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/** A UTF-8 string or binary field with its 2-byte length prefix [MQTT-1.5.3]. */
function field(value: string | Uint8Array): Uint8Array {
  const bytes = isString(value) ? utf8Encode(value) : value;
  const out = new Uint8Array(2 + bytes.length);
  out[0] = bytes.length >> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

function encodeConnect(f: ConnectFields): Uint8Array {
  // Connect flags [MQTT-3.1.2-3]: user name 0x80, password 0x40, will retain 0x20, will QoS << 3,
  // will 0x04, clean session 0x02.
  let flags = f.cleanSession ? 0x02 : 0;
  if (f.will) flags |= 0x04 | (f.will.qos << 3) | (f.will.retain ? 0x20 : 0);
  if (f.username !== undefined) flags |= 0x80;
  if (f.password !== undefined) flags |= 0x40;
  const parts = [Uint8Array.of(0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags), u16(f.keepaliveSeconds), field(f.clientId)];
  if (f.will) parts.push(field(f.will.topic), field(f.will.payload));
  if (f.username !== undefined) parts.push(field(f.username));
  if (f.password !== undefined) parts.push(field(f.password));
  return packet(0x10, parts);
}

class CompactParser implements PacketParser {
  parsePublish(frame: Uint8Array, bodyStart: number): ParsedPublish | Error {
    const topicEnd = bodyStart + 2 + ((frame[bodyStart] << 8) | frame[bodyStart + 1]);
    const qos = (frame[0] >> 1) & 3;
    const messageId = qos > 0 ? (frame[topicEnd] << 8) | frame[topicEnd + 1] : 0;
    // The frame is a fresh array from Framer, so the payload may stay a view into it.
    return { topic: utf8Decode(frame, bodyStart + 2, topicEnd), payload: frame.subarray(topicEnd + (qos > 0 ? 2 : 0)), messageId };
  }

  parseSuback(frame: Uint8Array, bodyStart: number): ParsedSuback | Error {
    return { messageId: (frame[bodyStart] << 8) | frame[bodyStart + 1], granted: Array.from(frame.subarray(bodyStart + 2)) };
  }
}

export const compactCodec: MqttCodec = Object.freeze<MqttCodec>({
  encodeConnect,
  // SUBSCRIBE and UNSUBSCRIBE carry reserved flags 0b0010 [MQTT-3.8.1-1], [MQTT-3.10.1-1].
  encodeSubscribe: (id, filter, qos) => packet(0x82, [u16(id), field(filter), Uint8Array.of(qos)]),
  encodeUnsubscribe: (id, filter) => packet(0xa2, [u16(id), field(filter)]),
  encodeDisconnect: () => Uint8Array.of(0xe0, 0),
  createParser: () => new CompactParser(),
});
