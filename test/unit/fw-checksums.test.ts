import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CHECKSUM_ALGORITHMS, Crc32, Murmur3x64_128, Murmur3x86_32, portableDigest } from '../../src/thingsboard/fw-checksums';
import { nodeDigest } from '../../targets/host/platform/node-digest';
import type { Digest } from '../../src/platform/update-target';

const text = (s: string) => new TextEncoder().encode(s);
const FOX = 'The quick brown fox jumps over the lazy dog';

function hexOf(d: Digest, bytes: Uint8Array, pieces = 1): string {
  const step = Math.ceil(bytes.length / pieces) || 1;
  for (let i = 0; i < bytes.length; i += step) d.update(bytes.subarray(i, i + step));
  return d.hex();
}

/** Guava's HashCode.toString() of a 64-bit pair: each long's bytes, least significant first. */
function leHex64(h1: bigint, h2: bigint): string {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(h1, 0);
  b.writeBigUInt64LE(h2, 8);
  return b.toString('hex');
}

describe('firmware checksums (ThingsBoard / Guava byte order)', () => {
  it('MURMUR3_128 matches Guava’s own test vectors (seed 0)', () => {
    // Guava Murmur3Hash128Test: assertHash(0, h1, h2, input).
    expect(hexOf(new Murmur3x64_128(), text('hell'))).toBe(leHex64(0x629942693e10f867n, 0x92db0b82baeb5347n));
    expect(hexOf(new Murmur3x64_128(), text(FOX))).toBe(leHex64(0xe34bbc7bbc071b6cn, 0x7a433ca9c49a9347n));
    expect(hexOf(new Murmur3x64_128(), new Uint8Array(0))).toBe('0'.repeat(32));
  });

  it('MURMUR3_32 and CRC32 match the reference values, little-endian', () => {
    expect(hexOf(new Murmur3x86_32(), text(FOX))).toBe('23f74f2e'); // 0x2e4ff723
    expect(hexOf(new Murmur3x86_32(), new Uint8Array(0))).toBe('00000000');
    const crc = new Crc32();
    crc.update(text('hello world'));
    expect(crc.value).toBe(0x0d4a1185);
    expect(crc.hex()).toBe('85114a0d');
  });

  it('gives the same hash however the stream is cut into chunks', () => {
    const bytes = new Uint8Array(10_007);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 3)) & 0xff;
    for (const algorithm of ['CRC32', 'MURMUR3_32', 'MURMUR3_128']) {
      const whole = hexOf(portableDigest(algorithm)!, bytes);
      for (const pieces of [2, 7, 333, bytes.length]) expect(hexOf(portableDigest(algorithm)!, bytes, pieces)).toBe(whole);
    }
    const zlibCrc = (crc32 as unknown as ((b: Uint8Array) => number) | undefined)?.(bytes);
    if (zlibCrc !== undefined) expect(hexOf(new Crc32(), bytes)).toBe(Buffer.from(Uint32Array.of(zlibCrc).buffer).toString('hex'));
  });

  it('every ThingsBoard algorithm has a digest on Node; the SHA family equals node:crypto', () => {
    for (const algorithm of CHECKSUM_ALGORITHMS) expect(nodeDigest(algorithm)).toBeDefined();
    expect(nodeDigest('SHA1')).toBeUndefined();
    expect(portableDigest('SHA256')).toBeUndefined();
    expect(hexOf(nodeDigest('SHA256')!, text(FOX), 5)).toBe(createHash('sha256').update(FOX).digest('hex'));
    expect(hexOf(nodeDigest('MD5')!, text(FOX))).toBe('9e107d9d372bb6826bd81d3542a419d6');
  });
});
