/**
 * The ESP32's UpdateTarget: Moddable's `ota` module (build/devices/esp32/modules/ota: esp_ota_begin
 * on the next OTA partition, esp_ota_write, esp_ota_end + esp_ota_set_boot_partition in
 * complete()) and `crypt`'s Digest for MD5 and the SHA family; CRC32 and Murmur3 are computed in
 * JavaScript (src/thingsboard/fw-checksums.ts). The classes are injected (main.ts passes
 * Moddable's), so the contract suite runs this against fakes on Node.
 *
 * Moddable's ota module has no rollback API (no esp_ota_mark_app_valid_*), so confirm() is absent:
 * an image that boots stays; one that reports another version is reported FAILED by the updater.
 */
import type { Digest, FirmwareImage, UpdateTarget } from '../../src/platform/update-target';
import { imageProblem, portableDigest } from '../../src/thingsboard/fw-checksums';

/** Moddable's OTA class: the constructor begins (its options are ignored by the ESP32 module). */
export interface OtaLike {
  write(bytes: Uint8Array): void;
  cancel(): void;
  complete(): void;
}

/** Moddable's crypt Digest: write() as the data comes, close() ends it with the hash bytes. */
export interface CryptDigestLike {
  write(bytes: Uint8Array): void;
  close(): ArrayBuffer;
}

export interface Esp32UpdateTargetOptions {
  OTA: new (options: { byteLength: number }) => OtaLike;
  Digest: new (algorithm: string) => CryptDigestLike;
  /** System.restart(). */
  restart: () => void;
  /** Bytes of the smaller OTA partition (mcconfig splits the factory partition into two). */
  capacity: number;
}

/** ThingsBoard's names that crypt's Digest takes as they are. */
const CRYPT_ALGORITHMS: readonly string[] = Object.freeze(['MD5', 'SHA256', 'SHA384', 'SHA512']);

export class Esp32UpdateTarget implements UpdateTarget {
  readonly capacity: number;
  private readonly o_: Esp32UpdateTargetOptions;
  private ota_: OtaLike | undefined;
  private digest_: Digest | undefined;
  private image_: FirmwareImage | undefined;
  private written_ = 0;

  constructor(options: Esp32UpdateTargetOptions) {
    this.o_ = options;
    this.capacity = options.capacity;
  }

  supports(algorithm: string): boolean {
    return CRYPT_ALGORITHMS.indexOf(algorithm) >= 0 || portableDigest(algorithm) !== undefined;
  }

  begin(image: FirmwareImage): void {
    this.abort();
    this.digest_ = this.digest_of_(image.checksumAlgorithm);
    this.ota_ = new this.o_.OTA({ byteLength: image.size });
    this.image_ = image;
    this.written_ = 0;
  }

  write(bytes: Uint8Array): void {
    if (!this.ota_ || !this.digest_) throw new Error('no image begun');
    this.ota_.write(bytes);
    this.digest_.update(bytes);
    this.written_ += bytes.length;
  }

  verify(): Promise<void> {
    const image = this.image_;
    const digest = this.digest_;
    if (!image || !digest) return Promise.reject(new Error('no image begun'));
    this.digest_ = undefined;
    const problem = imageProblem(image, this.written_, digest);
    return problem ? Promise.reject(problem) : Promise.resolve();
  }

  install(): Promise<void> {
    const ota = this.ota_;
    if (!ota || this.digest_) return Promise.reject(new Error('install before a verified image'));
    this.ota_ = undefined;
    // esp_ota_end checks the image header, then the boot partition is switched.
    ota.complete();
    return Promise.resolve();
  }

  abort(): void {
    const ota = this.ota_;
    this.ota_ = undefined;
    this.digest_ = undefined;
    this.image_ = undefined;
    if (ota) ota.cancel();
  }

  restart(): void {
    this.o_.restart();
  }

  private digest_of_(algorithm: string): Digest {
    if (CRYPT_ALGORITHMS.indexOf(algorithm) >= 0) {
      const d = new this.o_.Digest(algorithm);
      return { update: (bytes) => d.write(bytes), hex: () => hexOf(new Uint8Array(d.close())) };
    }
    const portable = portableDigest(algorithm);
    if (!portable) throw new Error('checksum algorithm ' + algorithm + ' is not available');
    return portable;
  }
}

function hexOf(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return out;
}
