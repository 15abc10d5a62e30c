/**
 * ThingsBoard's non-cryptographic firmware checksums, streamed: CRC32, MURMUR3_32, MURMUR3_128.
 * The server computes them with Guava (Hashing.crc32(), murmur3_32(), murmur3_128(), seed 0) and
 * prints HashCode.toString(): the hash's bytes in little-endian order (shared/thingsboard-protocol.md,
 * "OTA firmware"). MD5 and the SHA family come from the platform (node:crypto, Moddable's crypt).
 *
 * Written for XS: 32-bit integer arithmetic only (Math.imul, no BigInt, which would allocate on
 * every operation), state on the instance, no per-update allocation except the 16-byte tail.
 */
import type { Digest, FirmwareImage } from '../platform/update-target';

/** Every algorithm ThingsBoard offers for firmware. */
export const CHECKSUM_ALGORITHMS: readonly string[] = Object.freeze(['MD5', 'SHA256', 'SHA384', 'SHA512', 'CRC32', 'MURMUR3_32', 'MURMUR3_128']);

/** The digest this module computes for `algorithm`, or undefined (MD5 and SHA come from the platform). */
export function portableDigest(algorithm: string): Digest | undefined {
  if (algorithm === 'CRC32') return new Crc32();
  if (algorithm === 'MURMUR3_32') return new Murmur3x86_32();
  if (algorithm === 'MURMUR3_128') return new Murmur3x64_128();
  return undefined;
}

/**
 * What is wrong with the `written` bytes whose digest is `digest` (ended here) as the image
 * announced, or undefined: the one check every UpdateTarget's verify() makes.
 */
export function imageProblem(image: FirmwareImage, written: number, digest: Digest): Error | undefined {
  if (written !== image.size) return new Error('received ' + written + ' of ' + image.size + ' bytes');
  const actual = digest.hex();
  if (actual === image.checksum.toLowerCase()) return undefined;
  return new Error('checksum mismatch: ' + image.checksumAlgorithm + ' of the ' + written + ' bytes received is ' + actual + ', the server announced ' + image.checksum);
}

/** Hex of `word`'s 4 bytes, least significant first (Guava's HashCode.fromInt(...).toString()). */
function hexLe32(word: number): string {
  let out = '';
  for (let i = 0; i < 4; i++) out += ((word >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return out;
}

/** Built once at load (preloaded into flash on a device, read only afterwards). */
const CRC_TABLE = crcTable();

function crcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 (IEEE 802.3, zlib's). */
export class Crc32 implements Digest {
  private crc_ = 0xffffffff;

  update(bytes: Uint8Array): void {
    let c = this.crc_;
    const table = CRC_TABLE;
    for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    this.crc_ = c;
  }

  /** The CRC as a number (zlib's crc32). */
  get value(): number {
    return (this.crc_ ^ 0xffffffff) >>> 0;
  }

  hex(): string {
    return hexLe32(this.value);
  }
}

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** MurmurHash3 x86 32-bit, seed 0 (Guava's murmur3_32). */
export class Murmur3x86_32 implements Digest {
  private h_ = 0;
  private length_ = 0;
  /** Bytes of an unfinished 4-byte block, little-endian. */
  private tail_ = 0;
  private tailBytes_ = 0;

  update(bytes: Uint8Array): void {
    let h = this.h_;
    let tail = this.tail_;
    let n = this.tailBytes_;
    for (let i = 0; i < bytes.length; i++) {
      tail |= bytes[i] << (8 * n);
      if (++n === 4) {
        h = rotl32(h ^ mix32(tail), 13);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
        tail = 0;
        n = 0;
      }
    }
    this.h_ = h;
    this.tail_ = tail;
    this.tailBytes_ = n;
    this.length_ += bytes.length;
  }

  hex(): string {
    let h = this.h_;
    if (this.tailBytes_ > 0) h ^= mix32(this.tail_);
    // The length enters mod 2^32, as in the reference code.
    return hexLe32(fmix32(h ^ (this.length_ | 0)));
  }
}

function mix32(k: number): number {
  return Math.imul(rotl32(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
}

// ---- 64-bit arithmetic on (hi, lo) pairs of unsigned 32-bit numbers, for MurmurHash3 x64 ----

/** A 64-bit number as two unsigned 32-bit halves; mutated in place (no allocation per operation). */
interface U64 {
  hi: number;
  lo: number;
}

/** a = a * (bh:bl) mod 2^64. */
function mul64(a: U64, bh: number, bl: number): void {
  const al = a.lo;
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  a.lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  a.hi = (carry + Math.imul(al, bh) + Math.imul(a.hi, bl)) >>> 0;
}

/** a = rotl64(a, r) for 0 < r < 32. */
function rotl64(a: U64, r: number): void {
  const hi = a.hi;
  const lo = a.lo;
  a.hi = ((hi << r) | (lo >>> (32 - r))) >>> 0;
  a.lo = ((lo << r) | (hi >>> (32 - r))) >>> 0;
}

/** a = a + b mod 2^64. */
function add64(a: U64, b: U64): void {
  const lo = a.lo + b.lo;
  a.hi = (a.hi + b.hi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  a.lo = lo >>> 0;
}

function xor64(a: U64, b: U64): void {
  a.hi = (a.hi ^ b.hi) >>> 0;
  a.lo = (a.lo ^ b.lo) >>> 0;
}

/** a = a * 5 + c (the block step's constant add), mod 2^64. */
function times5Plus(a: U64, c: number): void {
  mul64(a, 0, 5);
  const lo = a.lo + c;
  a.hi = (a.hi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  a.lo = lo >>> 0;
}

function fmix64(a: U64): void {
  // k ^= k >>> 33; k *= 0xff51afd7ed558ccd; k ^= k >>> 33; k *= 0xc4ceb9fe1a85ec53; k ^= k >>> 33
  a.lo = (a.lo ^ (a.hi >>> 1)) >>> 0;
  mul64(a, 0xff51afd7, 0xed558ccd);
  a.lo = (a.lo ^ (a.hi >>> 1)) >>> 0;
  mul64(a, 0xc4ceb9fe, 0x1a85ec53);
  a.lo = (a.lo ^ (a.hi >>> 1)) >>> 0;
}

const C1_HI = 0x87c37b91;
const C1_LO = 0x114253d5;
const C2_HI = 0x4cf5ad43;
const C2_LO = 0x2745937f;

/** MurmurHash3 x64 128-bit, seed 0 (Guava's murmur3_128). */
export class Murmur3x64_128 implements Digest {
  private readonly h1_: U64 = { hi: 0, lo: 0 };
  private readonly h2_: U64 = { hi: 0, lo: 0 };
  private readonly k1_: U64 = { hi: 0, lo: 0 };
  private readonly k2_: U64 = { hi: 0, lo: 0 };
  private readonly block_ = new Uint8Array(16);
  private blockBytes_ = 0;
  private length_ = 0;

  update(bytes: Uint8Array): void {
    const block = this.block_;
    let n = this.blockBytes_;
    for (let i = 0; i < bytes.length; i++) {
      block[n++] = bytes[i];
      if (n === 16) {
        this.block16_();
        n = 0;
      }
    }
    this.blockBytes_ = n;
    this.length_ += bytes.length;
  }

  hex(): string {
    const h1 = this.h1_;
    const h2 = this.h2_;
    const k1 = this.k1_;
    const k2 = this.k2_;
    const n = this.blockBytes_;
    if (n > 0) {
      this.block_.fill(0, n);
      this.load_();
      if (n > 8) {
        mixK2(k2);
        xor64(h2, k2);
      }
      mixK1(k1);
      xor64(h1, k1);
    }
    // The length in bytes, as a 64-bit number (images stay far below 2^53).
    const length: U64 = { hi: Math.floor(this.length_ / 0x100000000) >>> 0, lo: this.length_ >>> 0 };
    xor64(h1, length);
    xor64(h2, length);
    add64(h1, h2);
    add64(h2, h1);
    fmix64(h1);
    fmix64(h2);
    add64(h1, h2);
    add64(h2, h1);
    return hexLe32(h1.lo) + hexLe32(h1.hi) + hexLe32(h2.lo) + hexLe32(h2.hi);
  }

  /** k1, k2 = the block's two little-endian 64-bit words. */
  private load_(): void {
    const b = this.block_;
    this.k1_.lo = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    this.k1_.hi = (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0;
    this.k2_.lo = (b[8] | (b[9] << 8) | (b[10] << 16) | (b[11] << 24)) >>> 0;
    this.k2_.hi = (b[12] | (b[13] << 8) | (b[14] << 16) | (b[15] << 24)) >>> 0;
  }

  private block16_(): void {
    const h1 = this.h1_;
    const h2 = this.h2_;
    const k1 = this.k1_;
    const k2 = this.k2_;
    this.load_();
    mixK1(k1);
    xor64(h1, k1);
    rotl64(h1, 27);
    add64(h1, h2);
    times5Plus(h1, 0x52dce729);
    mixK2(k2);
    xor64(h2, k2);
    rotl64(h2, 31);
    add64(h2, h1);
    times5Plus(h2, 0x38495ab5);
  }
}

/** k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2. */
function mixK1(k: U64): void {
  mul64(k, C1_HI, C1_LO);
  rotl64(k, 31);
  mul64(k, C2_HI, C2_LO);
}

/** k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1 (a rotation by 33 is a swap of the halves and one by 1). */
function mixK2(k: U64): void {
  mul64(k, C2_HI, C2_LO);
  const hi = k.hi;
  k.hi = k.lo;
  k.lo = hi;
  rotl64(k, 1);
  mul64(k, C1_HI, C1_LO);
}
