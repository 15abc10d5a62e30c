import { createHash } from 'node:crypto';
import type { Digest } from '../../../src/platform/update-target';
import { portableDigest } from '../../../src/thingsboard/fw-checksums';

const NODE_HASHES: Readonly<Record<string, string>> = Object.freeze({ MD5: 'md5', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' });

/** Every ThingsBoard firmware checksum on Node: node:crypto for MD5 and SHA, the portable ones for CRC32 and Murmur3. */
export function nodeDigest(algorithm: string): Digest | undefined {
  const name = NODE_HASHES[algorithm];
  if (name === undefined) return portableDigest(algorithm);
  const hash = createHash(name);
  return {
    update: (bytes) => void hash.update(bytes),
    hex: () => hash.digest('hex'),
  };
}
