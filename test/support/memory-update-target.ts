import type { Digest, FirmwareImage, UpdateTarget } from '../../src/platform/update-target';
import { nodeDigest } from '../../targets/host/platform/node-digest';

/** An UpdateTarget in memory, for tests: records every call; `failWrite`/`failInstall` inject faults. */
export class MemoryUpdateTarget implements UpdateTarget {
  readonly calls: string[] = [];
  image: FirmwareImage | undefined;
  bytes: number[] = [];
  installed: { image: FirmwareImage; bytes: Uint8Array } | undefined;
  restarts = 0;
  confirms = 0;
  failWrite: Error | undefined;
  failInstall: Error | undefined;
  private digest_: Digest | undefined;

  constructor(
    readonly capacity = 1_000_000,
    private readonly algorithms: readonly string[] = ['MD5', 'SHA256', 'SHA384', 'SHA512', 'CRC32', 'MURMUR3_32', 'MURMUR3_128'],
  ) {}

  supports(algorithm: string): boolean {
    return this.algorithms.includes(algorithm);
  }
  begin(image: FirmwareImage): void {
    this.calls.push('begin ' + image.version);
    this.image = image;
    this.bytes = [];
    this.digest_ = nodeDigest(image.checksumAlgorithm);
  }
  write(bytes: Uint8Array): void {
    if (this.failWrite) throw this.failWrite;
    for (const b of bytes) this.bytes.push(b);
    this.digest_!.update(bytes);
  }
  verify(): Promise<void> {
    this.calls.push('verify');
    const hex = this.digest_!.hex();
    if (hex !== this.image!.checksum) return Promise.reject(new Error('checksum mismatch: got ' + hex + ', the server announced ' + this.image!.checksum));
    return Promise.resolve();
  }
  install(): Promise<void> {
    this.calls.push('install');
    if (this.failInstall) return Promise.reject(this.failInstall);
    this.installed = { image: this.image!, bytes: Uint8Array.from(this.bytes) };
    return Promise.resolve();
  }
  abort(): void {
    this.calls.push('abort');
    this.image = undefined;
    this.bytes = [];
  }
  restart(): void {
    this.calls.push('restart');
    this.restarts++;
  }
  confirm(): void {
    this.confirms++;
  }
}
