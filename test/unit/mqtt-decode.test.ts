import { generate } from 'mqtt-packet';
import { beforeEach, describe, expect, it } from 'vitest';
import { mqttPacketCodec } from '../../src/mqtt/mqtt-packet-codec';
import { decodeFrame } from '../../src/mqtt/decode';
import { MqttError } from '../../src/mqtt/errors';

let codec = mqttPacketCodec;
const decode = (bytes: number[] | Uint8Array) => decodeFrame(Uint8Array.from(bytes), codec.createParser());
const code = (bytes: number[] | Uint8Array) => {
  const r = decode(bytes);
  return r instanceof MqttError ? r.code : 'ok';
};

for (const [name, c] of [['mqtt-packet', mqttPacketCodec]] as const) {
describe(name + ' codec', () => {
  beforeEach(() => {
    codec = c;
  });
describe('decodeFrame accepts what a server may send', () => {
  it('PUBLISH with non-ASCII topics, a literal U+FFFD included', () => {
    for (const topic of ['tést/温度', 'a/\uFFFD/b', 'emoji/\u{1F600}']) {
      const p = decode(generate({ cmd: 'publish', topic, payload: 'x', qos: 0 } as never));
      expect(p).toMatchObject({ type: 'publish', topic });
    }
  });
  it('CONNACK', () => {
    expect(decode([0x20, 2, 0, 0])).toEqual({ type: 'connack', sessionPresent: false, returnCode: 0 });
    expect(decode([0x20, 2, 1, 0])).toEqual({ type: 'connack', sessionPresent: true, returnCode: 0 });
    expect(decode([0x20, 2, 0, 5])).toEqual({ type: 'connack', sessionPresent: false, returnCode: 5 });
  });
  it('PUBLISH QoS 0 and 1', () => {
    const p = decode(generate({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/0', payload: '{"method":"x"}', qos: 1, messageId: 65535 } as never));
    expect(p).toMatchObject({ type: 'publish', topic: 'v1/devices/me/rpc/request/0', qos: 1, id: 65535, dup: false });
    expect(Buffer.from((p as any).payload).toString()).toBe('{"method":"x"}');
    expect(decode(generate({ cmd: 'publish', topic: 'a', payload: '', qos: 0, retain: true } as never))).toMatchObject({ qos: 0, retain: true, id: 0 });
    expect(decode(generate({ cmd: 'publish', topic: 'a', payload: 'z', qos: 1, dup: true, messageId: 2 } as never))).toMatchObject({ dup: true });
  });
  it('PUBACK, SUBACK, UNSUBACK, PINGRESP', () => {
    expect(decode([0x40, 2, 1, 2])).toEqual({ type: 'puback', id: 258 });
    expect(decode([0x90, 4, 0, 7, 1, 0x80])).toEqual({ type: 'suback', id: 7, granted: [1, 0x80] });
    expect(decode([0xb0, 2, 0, 7])).toEqual({ type: 'unsuback', id: 7 });
    expect(decode([0xd0, 0])).toEqual({ type: 'pingresp' });
  });
  it('well-formed QoS 2 acknowledgements (the session judges them)', () => {
    expect(decode([0x50, 2, 0, 9])).toEqual({ type: 'pubrec', id: 9 });
    expect(decode([0x62, 2, 1, 0])).toEqual({ type: 'pubrel', id: 256 });
    expect(decode([0x70, 2, 0xff, 0xff])).toEqual({ type: 'pubcomp', id: 65535 });
  });
  it('topics with characters around the control ranges', () => {
    // U+00A0 (no-break space) and U+0020 are not control characters.
    expect(decode([0x30, 5, 0, 3, 0x61, 0xc2, 0xa0])).toMatchObject({ type: 'publish', topic: 'a\u00a0' });
    expect(decode([0x30, 4, 0, 2, 0x61, 0x20])).toMatchObject({ type: 'publish', topic: 'a ' });
    expect(decode([0x30, 4, 0, 2, 0x61, 0x7e])).toMatchObject({ type: 'publish', topic: 'a~' });
  });
});

describe('decodeFrame refuses malformed or unexpected packets', () => {
  const cases: [string, number[], string][] = [
    ['short CONNACK', [0x20, 1, 0], 'malformed'],
    ['long CONNACK', [0x20, 3, 0, 0, 0], 'malformed'],
    ['CONNACK reserved ack flags', [0x20, 2, 2, 0], 'malformed'],
    ['CONNACK unknown return code', [0x20, 2, 0, 6], 'malformed'],
    ['refused CONNACK with session present', [0x20, 2, 1, 5], 'malformed'],
    ['CONNACK header flags', [0x21, 2, 0, 0], 'malformed'],
    ['PUBACK id 0', [0x40, 2, 0, 0], 'malformed'],
    ['PUBACK long', [0x40, 3, 0, 1, 0], 'malformed'],
    ['PUBACK flags', [0x42, 2, 0, 1], 'malformed'],
    ['PINGRESP with body', [0xd0, 1, 0], 'malformed'],
    ['SUBACK without codes', [0x90, 2, 0, 1], 'malformed'],
    ['SUBACK bad code', [0x90, 3, 0, 1, 3], 'malformed'],
    ['SUBACK id 0', [0x90, 3, 0, 0, 1], 'malformed'],
    ['UNSUBACK id 0', [0xb0, 2, 0, 0], 'malformed'],
    ['PUBLISH QoS 3', [0x36, 5, 0, 1, 0x61, 0, 1], 'malformed'],
    ['PUBLISH QoS 2', [0x34, 5, 0, 1, 0x61, 0, 1], 'protocol'],
    ['PUBLISH QoS 0 with DUP', [0x38, 3, 0, 1, 0x61], 'malformed'],
    ['PUBLISH QoS 1 id 0', [0x32, 5, 0, 1, 0x61, 0, 0], 'malformed'],
    ['PUBLISH empty topic', [0x30, 3, 0, 0, 0x78], 'malformed'],
    ['PUBLISH topic past end', [0x30, 3, 0, 5, 0x61], 'malformed'],
    ['PUBLISH id past end', [0x32, 4, 0, 1, 0x61, 0], 'malformed'],
    ['PUBLISH without topic length', [0x30, 1, 0], 'malformed'],
    ['PUBLISH wildcard topic +', [0x30, 4, 0, 2, 0x61, 0x2b], 'malformed'],
    ['PUBLISH wildcard topic #', [0x30, 3, 0, 1, 0x23], 'malformed'],
    ['PUBLISH invalid UTF-8 topic', [0x30, 4, 0, 2, 0xc0, 0x80], 'malformed'],
    ['PUBLISH topic with U+0000', [0x30, 4, 0, 2, 0x61, 0x00], 'malformed'],
    // One invalid byte decodes to one U+FFFD: as many units as bytes, yet not ASCII.
    ['PUBLISH topic with a lone 0xFF byte', [0x30, 4, 0, 2, 0x61, 0xff], 'malformed'],
    ['PUBLISH topic with a lone continuation byte', [0x30, 5, 0, 3, 0x61, 0x80, 0x62], 'malformed'],
    ['PUBLISH topic with an encoded surrogate', [0x30, 5, 0, 3, 0xed, 0xa0, 0x80], 'malformed'],
    ['PUBLISH topic with an overlong slash', [0x30, 5, 0, 3, 0x61, 0xc0, 0xaf], 'malformed'],
    ['PUBLISH topic truncated in a character', [0x30, 4, 0, 2, 0x61, 0xc3], 'malformed'],
    ['CONNECT from server', Array.from(generate({ cmd: 'connect', clientId: 'x' } as never)), 'protocol'],
    ['SUBSCRIBE from server', [0x82, 6, 0, 1, 0, 1, 0x61, 0], 'protocol'],
    ['PINGREQ from server', [0xc0, 0], 'protocol'],
    ['DISCONNECT from server', [0xe0, 0], 'protocol'],
    ['PUBREC long', [0x50, 3, 0, 1, 0], 'malformed'],
    ['PUBREC id 0', [0x50, 2, 0, 0], 'malformed'],
    ['PUBREC flags', [0x52, 2, 0, 1], 'malformed'],
    ['PUBREL without its 0010 flags', [0x60, 2, 0, 1], 'malformed'],
    ['PUBREL short', [0x62, 1, 0], 'malformed'],
    ['PUBCOMP flags', [0x72, 2, 0, 1], 'malformed'],
    ['PUBCOMP id 0', [0x70, 2, 0, 0], 'malformed'],
    ['PUBLISH topic with U+0001', [0x30, 4, 0, 2, 0x61, 0x01], 'protocol'],
    ['PUBLISH topic with U+001F', [0x30, 4, 0, 2, 0x1f, 0x61], 'protocol'],
    ['PUBLISH topic with U+007F', [0x30, 4, 0, 2, 0x61, 0x7f], 'protocol'],
    ['PUBLISH topic with U+0080', [0x30, 5, 0, 3, 0x61, 0xc2, 0x80], 'protocol'],
    ['PUBLISH topic with U+009F', [0x30, 5, 0, 3, 0x61, 0xc2, 0x9f], 'protocol'],
    ['reserved type 0', [0x00, 0], 'malformed'],
    ['reserved type 15', [0xf0, 0], 'malformed'],
  ];
  for (const [name, bytes, expected] of cases) {
    it(name, () => expect(code(bytes)).toBe(expected));
  }
});
});
}
