import { describe, expect, it, vi } from 'vitest';
import { isValidUtf8, utf8Decode, utf8Encode } from '../../src/platform/utf8';

const samples = ['', 'hello', 'temperature 21.5°C', 'ключ', '温度', 'emoji 😀 ok', '\u0000x', 'a\ud800b'];

describe('utf8', () => {
  it('decodes like Node, malformed sequences as U+FFFD, long ASCII runs included', () => {
    for (const s of samples) if (!s.includes('\ud800')) expect(utf8Decode(utf8Encode(s))).toBe(s);
    for (const b of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff]]) expect(utf8Decode(new Uint8Array(b))).toContain('\ufffd');
    expect(utf8Decode(utf8Encode('a'.repeat(3000) + 'é'))).toBe('a'.repeat(3000) + 'é');
    const framed = utf8Encode('xxkeyxx');
    expect(utf8Decode(framed, 2, 5)).toBe('key');
  });

  it('without the TextEncoder/TextDecoder globals says what to install', async () => {
    const g = globalThis as { TextEncoder?: unknown; TextDecoder?: unknown; tbxsTextEncoder?: unknown; tbxsTextDecoder?: unknown };
    const saved = { TextEncoder: g.TextEncoder, TextDecoder: g.TextDecoder };
    try {
      delete g.TextEncoder;
      delete g.TextDecoder;
      // utf8.ts keeps the instances it made on the global object
      delete g.tbxsTextEncoder;
      delete g.tbxsTextDecoder;
      vi.resetModules();
      const fresh = await import('../../src/platform/utf8');
      expect(() => fresh.utf8Encode('x')).toThrow(/no global TextEncoder.*text\/encoder/);
      expect(() => fresh.utf8Decode(new Uint8Array(1))).toThrow(/no global TextDecoder.*text\/decoder/);
    } finally {
      g.TextEncoder = saved.TextEncoder;
      g.TextDecoder = saved.TextDecoder;
    }
  });

  it('encodes like Node for every sample', () => {
    for (const s of samples) {
      expect(Buffer.from(utf8Encode(s)).equals(Buffer.from(s, 'utf8'))).toBe(true);
    }
  });

  it('round-trips well-formed text', () => {
    for (const s of samples.filter((x) => !x.includes('\ud800'))) {
      expect(utf8Decode(utf8Encode(s))).toBe(s);
      expect(isValidUtf8(utf8Encode(s))).toBe(true);
    }
  });

  it('rejects malformed sequences', () => {
    const bad = [
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // surrogate D800
      [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
      [0x80], // lone continuation
      [0xe2, 0x82], // truncated
      [0xff],
    ];
    for (const b of bad) {
      expect(isValidUtf8(new Uint8Array(b))).toBe(false);
      expect(utf8Decode(new Uint8Array(b))).toContain('\ufffd');
    }
  });

  it('refuses U+0000 only for MQTT strings', () => {
    const nul = new Uint8Array([0x61, 0x00]);
    expect(isValidUtf8(nul)).toBe(true);
    expect(isValidUtf8(nul, 0, 2, true)).toBe(false);
  });

  it('agrees with Node on random bytes', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let n = 0; n < 2000; n++) {
      const len = Math.floor(rand() * 8);
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(rand() * 256);
      const nodeValid = Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8').equals(Buffer.from(bytes));
      expect(isValidUtf8(bytes)).toBe(nodeValid);
    }
  });
});
