import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { MqttError } from '../../src/mqtt/errors';
import { Framer } from '../../src/mqtt/framer';

/** feed() then next() until the chunk is used up: each frame to onFrame, the first error returned. */
function push(framer: Framer, chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): MqttError | undefined {
  framer.feed(chunk);
  for (;;) {
    const frame = framer.next();
    if (frame === undefined) return undefined;
    if (!(frame instanceof Uint8Array)) return frame;
    onFrame(frame);
  }
}

function packets(): Buffer[] {
  return [
    generate({ cmd: 'connack', returnCode: 0, sessionPresent: false } as never),
    generate({ cmd: 'publish', topic: 'a/b', payload: 'x'.repeat(200), qos: 1, messageId: 3 } as never),
    generate({ cmd: 'pingresp' } as never),
    generate({ cmd: 'publish', topic: 'c', payload: 'y'.repeat(20_000), qos: 0 } as never),
    generate({ cmd: 'puback', messageId: 9 } as never),
  ];
}

describe('Framer', () => {
  it('cuts a stream delivered one byte at a time', () => {
    const all = Buffer.concat(packets());
    const framer = new Framer(65536);
    const frames: Uint8Array[] = [];
    for (const b of all) expect(push(framer, Uint8Array.of(b), (f) => frames.push(f))).toBeUndefined();
    expect(frames.map((f) => Buffer.from(f))).toEqual(packets());
  });

  it('cuts many packets in one chunk, and random chunkings', () => {
    const all = Buffer.concat([...packets(), ...packets()]);
    for (let seed = 1; seed < 50; seed++) {
      const framer = new Framer(65536);
      const frames: Uint8Array[] = [];
      let i = 0;
      let s = seed;
      while (i < all.length) {
        s = (s * 16807) % 2147483647;
        const n = 1 + (s % 3000);
        push(framer, all.subarray(i, i + n), (f) => frames.push(f));
        i += n;
      }
      expect(frames.length).toBe(10);
      expect(Buffer.concat(frames.map((f) => Buffer.from(f))).equals(all)).toBe(true);
    }
  });

  it('refuses an oversized packet as soon as its length is known, before its body', () => {
    const framer = new Framer(1024);
    // PUBLISH with remaining length 2,000,000 (3 bytes) and no body yet.
    const error = push(framer, Uint8Array.of(0x30, 0x80, 0x89, 0x7a), () => {});
    expect(error?.code).toBe('packet-too-large');
    expect(framer.buffered).toBe(0);
  });

  it('accepts a packet exactly at the cap', () => {
    const p = generate({ cmd: 'publish', topic: 't', payload: 'z'.repeat(1024 - 6), qos: 0 } as never);
    expect(p.length).toBe(1024);
    const frames: Uint8Array[] = [];
    expect(push(new Framer(1024), p, (f) => frames.push(f))).toBeUndefined();
    expect(frames.length).toBe(1);
    expect(push(new Framer(1023), p, () => {})?.code).toBe('packet-too-large');
  });

  it('refuses a remaining length of 5 bytes and non-minimal encodings', () => {
    expect(push(new Framer(1 << 30), Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x01), () => {})?.code).toBe('malformed');
    expect(push(new Framer(65536), Uint8Array.of(0xd0, 0x80, 0x00), () => {})?.code).toBe('malformed');
  });

  it('short packets whole in a chunk (the one-step path) are copies, capped like the rest', () => {
    const small = generate({ cmd: 'publish', topic: 'a', payload: 'p'.repeat(50), qos: 1, messageId: 5 } as never);
    expect(small.length).toBeLessThan(130);
    const chunk = Uint8Array.from(Buffer.concat([small, small, Buffer.from([0x30])]));
    const framer = new Framer(65536);
    framer.feed(chunk.subarray(0)); // a view with an offset of 0 into a larger buffer is fine too
    const first = framer.next() as Uint8Array;
    const second = framer.next() as Uint8Array;
    expect(framer.next()).toBeUndefined(); // the lone 0x30 waits for its length
    chunk.fill(0); // the socket may reuse its buffer
    expect(Buffer.from(first).equals(small)).toBe(true);
    expect(Buffer.from(second).equals(small)).toBe(true);
    expect(first.byteOffset).toBe(0);
    expect(first.buffer.byteLength).toBe(small.length);
    // Offsets into a shared buffer (Node's pooled Buffers) are honoured.
    const pooled = Buffer.concat([Buffer.alloc(7, 0xee), small]).subarray(7);
    const f2 = new Framer(65536);
    f2.feed(pooled);
    expect(Buffer.from(f2.next() as Uint8Array).equals(small)).toBe(true);
    // The cap holds for short packets: 52 bytes against a cap of 51.
    const tiny = generate({ cmd: 'publish', topic: 't', payload: 'z'.repeat(47), qos: 0 } as never);
    expect(tiny.length).toBe(52);
    expect(push(new Framer(51), tiny, () => {})?.code).toBe('packet-too-large');
    expect(push(new Framer(52), tiny, () => {})).toBeUndefined();
  });

  it('starts clean after reset', () => {
    const framer = new Framer(65536);
    push(framer, Uint8Array.of(0x30, 10, 0, 1), () => {});
    framer.reset();
    const frames: Uint8Array[] = [];
    push(framer, Uint8Array.of(0xd0, 0x00), (f) => frames.push(f));
    expect(frames.map((f) => Array.from(f))).toEqual([[0xd0, 0]]);
  });

  describe('whole(): a read that is one packet', () => {
    it('cuts exactly one packet (1- and 2-byte lengths) as a copy; anything else is left to feed()', () => {
      const framer = new Framer(300);
      const small = Uint8Array.from(generate({ cmd: 'publish', topic: 't', payload: 'x', qos: 0 } as never));
      const large = Uint8Array.from(generate({ cmd: 'publish', topic: 't', payload: 'y'.repeat(200), qos: 0 } as never));
      for (const bytes of [small, large, Uint8Array.of(0xd0, 0)]) {
        const frame = framer.whole(bytes) as Uint8Array;
        expect(Array.from(frame)).toEqual(Array.from(bytes));
        expect(frame.buffer).not.toBe(bytes.buffer);
      }
      const over = Uint8Array.from(generate({ cmd: 'publish', topic: 't', payload: 'z'.repeat(300), qos: 0 } as never));
      for (const bytes of [Uint8Array.of(...small, ...small), small.subarray(0, small.length - 1), over, Uint8Array.of(0xd0, 0x80, 0x00), Uint8Array.of(0xd0)]) {
        expect(framer.whole(bytes)).toBeUndefined();
      }
      framer.feed(small.subarray(0, 2)); // a packet half read: not idle
      expect(framer.next()).toBeUndefined();
      expect(framer.whole(Uint8Array.of(0xd0, 0))).toBeUndefined();
    });
  });

  describe('puback() fast path', () => {
    /** Reads a chunk the way the session does: puback() first, then next(). */
    function pull(framer: Framer, chunk: number[]): (number | number[] | string)[] {
      framer.feed(Uint8Array.from(chunk));
      const out: (number | number[] | string)[] = [];
      for (;;) {
        const id = framer.puback();
        if (id !== 0) {
          out.push(id);
          continue;
        }
        const frame = framer.next();
        if (frame === undefined) return out;
        out.push(frame instanceof Uint8Array ? Array.from(frame) : frame.code);
        if (!(frame instanceof Uint8Array)) return out;
      }
    }

    it('takes coalesced PUBACKs and leaves other packets, in order, to next()', () => {
      const framer = new Framer(65536);
      expect(pull(framer, [0x40, 2, 0, 1, 0x40, 2, 1, 2, 0xd0, 0, 0x40, 2, 0xff, 0xff])).toEqual([1, 258, [0xd0, 0], 65535]);
      expect(framer.unread).toBe(0);
    });

    it('a PUBACK split across chunks goes through next(), whole', () => {
      const framer = new Framer(65536);
      expect(pull(framer, [0x40, 2, 0])).toEqual([]);
      expect(pull(framer, [7, 0x40, 2, 0, 8])).toEqual([[0x40, 2, 0, 7], 8]);
    });

    it('leaves id 0 and wrong lengths to next() and the decoder', () => {
      expect(pull(new Framer(65536), [0x40, 2, 0, 0])).toEqual([[0x40, 2, 0, 0]]);
      expect(pull(new Framer(65536), [0x40, 3, 0, 1, 9])).toEqual([[0x40, 3, 0, 1, 9]]);
      expect(pull(new Framer(65536), [0x41, 2, 0, 1])).toEqual([[0x41, 2, 0, 1]]);
    });
  });
});
