import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { encodePingreq, encodePuback, encodePublish, setDup, setPacketId } from '../../src/mqtt/publish-encoder';
import { checkTopicFilter, checkTopicName } from '../../src/mqtt/topic-rules';

function reference(topic: string, payload: string | Uint8Array, qos: 0 | 1, retain: boolean, id: number, dup = false): Buffer {
  return generate({ cmd: 'publish', topic, payload: typeof payload === 'string' ? payload : Buffer.from(payload), qos, retain, dup, messageId: qos ? id : undefined } as never);
}

describe('hand PUBLISH encoder matches mqtt-packet byte for byte', () => {
  const topics = ['v1/devices/me/telemetry', 't', 'ünïcödé/温度', 'a/'.repeat(200) + 'x'];
  // Payload sizes around the 1-, 2- and 3-byte remaining-length boundaries.
  const sizes = [0, 1, 90, 100, 123, 124, 125, 126, 127, 128, 16_000, 16_383, 16_384, 70_000];
  for (const topic of topics) {
    for (const size of sizes) {
      for (const qos of [0, 1] as const) {
        it(`${topic.slice(0, 20)} size ${size} qos ${qos}`, () => {
          const text = 'x'.repeat(size);
          const encoded = encodePublish(topic, text, qos, size % 2 === 0);
          if (qos) setPacketId(encoded.bytes, encoded.idOffset, 0xabcd);
          expect(Buffer.from(encoded.bytes).equals(reference(topic, text, qos, size % 2 === 0, 0xabcd))).toBe(true);
          const binary = encodePublish(topic, Buffer.from(text), qos, false);
          if (qos) setPacketId(binary.bytes, binary.idOffset, 1);
          expect(Buffer.from(binary.bytes).equals(reference(topic, text, qos, false, 1))).toBe(true);
        });
      }
    }
  }

  it('encodes non-ASCII payloads as UTF-8', () => {
    const payload = JSON.stringify({ t: '21.5°C', name: 'датчик', e: '😀' });
    const encoded = encodePublish('v1/devices/me/telemetry', payload, 1, false);
    setPacketId(encoded.bytes, encoded.idOffset, 7);
    expect(Buffer.from(encoded.bytes).equals(reference('v1/devices/me/telemetry', payload, 1, false, 7))).toBe(true);
  });

  it('falls back to encode + copy where the TextEncoder has no encodeInto', () => {
    const g = globalThis as { tbxsTextEncoder?: unknown };
    const saved = g.tbxsTextEncoder;
    const native = new TextEncoder();
    let calls = 0;
    g.tbxsTextEncoder = { encode: (text: string) => (calls++, native.encode(text)) };
    try {
      for (const payload of ['{"t":21.5}', '{"t":"21.5°C"}']) {
        const encoded = encodePublish('v1/devices/me/telemetry', payload, 1, false);
        setPacketId(encoded.bytes, encoded.idOffset, 9);
        expect(Buffer.from(encoded.bytes).equals(reference('v1/devices/me/telemetry', payload, 1, false, 9))).toBe(true);
      }
      expect(calls).toBe(4);
    } finally {
      g.tbxsTextEncoder = saved;
    }
  });

  it('sets DUP like mqtt-packet', () => {
    const encoded = encodePublish('a/b', '{}', 1, false);
    setPacketId(encoded.bytes, encoded.idOffset, 300);
    setDup(encoded.bytes);
    expect(Buffer.from(encoded.bytes).equals(reference('a/b', '{}', 1, false, 300, true))).toBe(true);
  });

  it('PUBACK and PINGREQ match', () => {
    expect(Buffer.from(encodePuback(0x1234)).equals(generate({ cmd: 'puback', messageId: 0x1234 } as never))).toBe(true);
    expect(Buffer.from(encodePingreq()).equals(generate({ cmd: 'pingreq' } as never))).toBe(true);
  });
});

describe('topic rules', () => {
  it('topic names', () => {
    expect(checkTopicName('v1/devices/me/telemetry')).toBeUndefined();
    expect(checkTopicName('')?.code).toBe('invalid-argument');
    expect(checkTopicName('a/+')?.code).toBe('invalid-argument');
    expect(checkTopicName('a/#')?.code).toBe('invalid-argument');
    expect(checkTopicName('a\u0000b')?.code).toBe('invalid-argument');
  });
  it('topic names up to 65535 UTF-8 bytes, counted in bytes not characters', () => {
    expect(checkTopicName('a'.repeat(65535))).toBeUndefined();
    expect(checkTopicName('a'.repeat(65536))?.message).toContain('longer than 65535 bytes');
    // 21,845 three-byte characters are 65,535 bytes; one more character is over.
    expect(checkTopicName('\u20ac'.repeat(21845))).toBeUndefined();
    expect(checkTopicName('\u20ac'.repeat(21846))?.code).toBe('invalid-argument');
    // A surrogate pair is 4 bytes: 16,383 pairs and 3 ASCII bytes are exactly 65,535.
    expect(checkTopicName('\ud83d\ude00'.repeat(16383) + 'abc')).toBeUndefined();
    expect(checkTopicName('\ud83d\ude00'.repeat(16384))?.code).toBe('invalid-argument');
    expect(checkTopicFilter('b'.repeat(65536))?.code).toBe('invalid-argument');
  });
  it('topic filters', () => {
    for (const ok of ['a', 'a/+/b', '#', 'a/#', '+', '+/+', 'v1/devices/me/rpc/request/+']) expect(checkTopicFilter(ok)).toBeUndefined();
    for (const bad of ['', 'a#', 'a/#/b', 'a+', 'a/b+/c', '#/a']) expect(checkTopicFilter(bad)?.code).toBe('invalid-argument');
  });
});
