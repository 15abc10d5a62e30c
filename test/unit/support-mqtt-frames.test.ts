import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../support/random';
import {
  MqttFramer,
  PacketType,
  buildFrame,
  decodeRemainingLength,
  encodeRemainingLength,
  packetType,
  packetTypeName,
  splitFrames,
} from '../support/mqtt-frames';

function body(n: number, fill = 0xab): Buffer {
  return Buffer.alloc(n, fill);
}

describe('remaining length', () => {
  // Boundaries from MQTT 3.1.1 section 2.2.3.
  const cases: Array<[number, number[]]> = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
    [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
  ];
  for (const [value, bytes] of cases) {
    it(`encodes and decodes ${value} as ${bytes.length} byte(s)`, () => {
      expect([...encodeRemainingLength(value)]).toEqual(bytes);
      const buf = Buffer.from([0x30, ...bytes]);
      expect(decodeRemainingLength(buf, 1)).toEqual({ value, bytes: bytes.length });
    });
  }

  it('rejects values out of range', () => {
    expect(() => encodeRemainingLength(-1)).toThrow(RangeError);
    expect(() => encodeRemainingLength(268_435_456)).toThrow(RangeError);
    expect(() => encodeRemainingLength(1.5)).toThrow(RangeError);
  });

  it('asks for more bytes while the continuation bit is set', () => {
    expect(decodeRemainingLength(Buffer.from([0x30]), 1)).toBeNull();
    expect(decodeRemainingLength(Buffer.from([0x30, 0x80]), 1)).toBeNull();
    expect(decodeRemainingLength(Buffer.from([0x30, 0xff, 0xff, 0xff]), 1)).toBeNull();
  });

  it('throws on a fifth length byte', () => {
    expect(() => decodeRemainingLength(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 1)).toThrow(
      /more than 4 bytes/,
    );
  });
});

describe('MqttFramer', () => {
  const pingresp = Buffer.from([0xd0, 0x00]); // PINGRESP, remaining length 0
  const connack = Buffer.from([0x20, 0x02, 0x00, 0x00]); // CONNACK, session present 0, rc 0
  const puback = Buffer.from([0x40, 0x02, 0x00, 0x07]); // PUBACK id 7

  it('returns each whole packet of a chunk', () => {
    const framer = new MqttFramer();
    const frames = framer.push(Buffer.concat([connack, puback, pingresp]));
    expect(frames).toEqual([connack, puback, pingresp]);
    expect(frames.map(packetTypeName)).toEqual(['connack', 'puback', 'pingresp']);
    expect(packetType(frames[1]!)).toBe(PacketType.PUBACK);
    expect(framer.buffered).toBe(0);
  });

  it('holds an incomplete packet until the rest arrives', () => {
    const framer = new MqttFramer();
    expect(framer.push(connack.subarray(0, 1))).toEqual([]);
    expect(framer.push(connack.subarray(1, 3))).toEqual([]);
    expect(framer.buffered).toBe(3);
    expect(framer.push(Buffer.concat([connack.subarray(3), pingresp.subarray(0, 1)]))).toEqual([connack]);
    expect(framer.push(pingresp.subarray(1))).toEqual([pingresp]);
    expect(framer.buffered).toBe(0);
  });

  it('frames packets whose remaining length takes 1, 2, 3 and 4 bytes, fed one byte at a time', () => {
    const sizes = [0, 5, 127, 128, 300, 16_383, 16_384, 2_097_152];
    const packets = sizes.map((n, i) => buildFrame(0x30 | (i & 1 ? 0x02 : 0), body(n, i)));
    const headerLens = packets.map((p, i) => p.length - sizes[i]!);
    expect(headerLens).toEqual([2, 2, 2, 3, 3, 3, 4, 5]);

    const stream = Buffer.concat(packets);
    // Byte at a time for the small ones; the 2 MB one in one big chunk split at its header.
    const framer = new MqttFramer();
    const out: Buffer[] = [];
    const smallEnd = stream.length - packets[7]!.length;
    for (let i = 0; i < smallEnd; i++) out.push(...framer.push(stream.subarray(i, i + 1)));
    for (let i = smallEnd; i < smallEnd + 5; i++) out.push(...framer.push(stream.subarray(i, i + 1)));
    out.push(...framer.push(stream.subarray(smallEnd + 5)));
    expect(out.length).toBe(packets.length);
    out.forEach((frame, i) => expect(frame.equals(packets[i]!)).toBe(true));
  });

  it('frames the same stream identically for any chunking (seeded random splits)', () => {
    const rand = mulberry32(42);
    const packets: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const n = rand() < 0.05 ? 16_384 + Math.floor(rand() * 1000) : Math.floor(rand() * 300);
      packets.push(buildFrame(((1 + Math.floor(rand() * 14)) << 4) | Math.floor(rand() * 16), body(n, i & 0xff)));
    }
    const stream = Buffer.concat(packets);
    for (let round = 0; round < 20; round++) {
      const framer = new MqttFramer();
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < stream.length) {
        const len = 1 + Math.floor(rand() * (round < 10 ? 7 : 5000));
        out.push(...framer.push(stream.subarray(pos, pos + len)));
        pos += len;
      }
      expect(framer.buffered).toBe(0);
      expect(out.length).toBe(packets.length);
      for (let i = 0; i < packets.length; i++) expect(out[i]!.equals(packets[i]!)).toBe(true);
    }
  });

  it('returns copies that do not alias the pushed chunk', () => {
    const framer = new MqttFramer();
    const chunk = Buffer.from(puback);
    const [frame] = framer.push(chunk);
    chunk.fill(0);
    expect(frame).toEqual(puback);
  });

  it('throws on a malformed length and stays failed until reset()', () => {
    const framer = new MqttFramer();
    expect(() => framer.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/more than 4 bytes/);
    expect(() => framer.push(pingresp)).toThrow(/more than 4 bytes/);
    framer.reset();
    expect(framer.push(pingresp)).toEqual([pingresp]);
  });

  it('enforces maxFrameSize from the header alone', () => {
    const framer = new MqttFramer({ maxFrameSize: 100 });
    expect(framer.push(buildFrame(0x30, body(98)))).toHaveLength(1); // 1 + 1 + 98 = 100
    expect(() => framer.push(Buffer.from([0x30, 0x80, 0x01]))).toThrow(/exceeds maxFrameSize/);
  });

  it('splitFrames splits whole packets and rejects a trailing partial one', () => {
    expect(splitFrames(Buffer.concat([connack, pingresp]))).toEqual([connack, pingresp]);
    expect(splitFrames(Buffer.alloc(0))).toEqual([]);
    expect(() => splitFrames(Buffer.concat([connack, pingresp.subarray(0, 1)]))).toThrow(/trailing/);
  });
});
