/**
 * The laptop's UpdateTarget (`tbxs device --ota-dir DIR`): the image is written to
 * DIR/firmware.bin.part as chunks arrive, checked, then renamed to DIR/firmware.bin, with
 * DIR/firmware.json naming its title and version; the firmware then restarts in-process and
 * reports that version. A half-written or unverified image never takes the name firmware.bin.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest, FirmwareImage, UpdateTarget } from '../../../src/platform/update-target';
import { imageProblem } from '../../../src/thingsboard/fw-checksums';
import { nodeDigest } from './node-digest';

export const FIRMWARE_FILE = 'firmware.bin';
export const FIRMWARE_INFO_FILE = 'firmware.json';
/** Default capacity: the size of a large ESP32 app partition is 4 MB; a laptop can hold more. */
export const DEFAULT_CAPACITY = 16 * 1024 * 1024;

export interface FileUpdateTargetOptions {
  dir: string;
  /** Largest image accepted, bytes. Default 16 MiB. */
  capacity?: number;
  /** Runs the installed image (the caller restarts the firmware with its version). */
  onRestart: (image: FirmwareImage) => void;
}

export interface InstalledFirmware {
  title: string;
  version: string;
}

/** The title and version of DIR/firmware.bin, when one was installed there. */
export function installedFirmware(dir: string): InstalledFirmware | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, FIRMWARE_INFO_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const info = JSON.parse(text) as Partial<InstalledFirmware>;
  if (typeof info.title !== 'string' || typeof info.version !== 'string') throw new Error(join(dir, FIRMWARE_INFO_FILE) + ' names no title and version');
  return { title: info.title, version: info.version };
}

export class FileUpdateTarget implements UpdateTarget {
  readonly capacity: number;
  private readonly dir_: string;
  private readonly onRestart_: (image: FirmwareImage) => void;
  private image_: FirmwareImage | undefined;
  private fd_: number | undefined;
  private digest_: Digest | undefined;
  private written_ = 0;
  private verified_ = false;

  constructor(options: FileUpdateTargetOptions) {
    this.dir_ = options.dir;
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.onRestart_ = options.onRestart;
  }

  get partPath(): string {
    return join(this.dir_, FIRMWARE_FILE + '.part');
  }

  supports(algorithm: string): boolean {
    return nodeDigest(algorithm) !== undefined;
  }

  begin(image: FirmwareImage): void {
    this.abort();
    const digest = nodeDigest(image.checksumAlgorithm);
    if (!digest) throw new Error('checksum algorithm ' + image.checksumAlgorithm + ' is not supported');
    if (image.size > this.capacity) throw new Error('image of ' + image.size + ' bytes is over the capacity of ' + this.capacity);
    mkdirSync(this.dir_, { recursive: true });
    this.fd_ = openSync(this.partPath, 'w');
    this.image_ = image;
    this.digest_ = digest;
    this.written_ = 0;
    this.verified_ = false;
  }

  write(bytes: Uint8Array): void {
    if (this.fd_ === undefined || !this.digest_ || !this.image_) throw new Error('no image begun');
    if (this.written_ + bytes.length > this.image_.size) throw new Error('more bytes than the announced ' + this.image_.size);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd_, bytes, done, bytes.length - done);
    this.digest_.update(bytes);
    this.written_ += bytes.length;
  }

  verify(): Promise<void> {
    const image = this.image_;
    const digest = this.digest_;
    if (this.fd_ === undefined || !image || !digest) return Promise.reject(new Error('no image begun'));
    fsyncSync(this.fd_);
    closeSync(this.fd_);
    this.fd_ = undefined;
    this.digest_ = undefined;
    const problem = imageProblem(image, this.written_, digest);
    if (problem) return Promise.reject(problem);
    this.verified_ = true;
    return Promise.resolve();
  }

  install(): Promise<void> {
    const image = this.image_;
    if (!image || !this.verified_) return Promise.reject(new Error('install before a verified image'));
    renameSync(this.partPath, join(this.dir_, FIRMWARE_FILE));
    const info = { title: image.title, version: image.version, size: image.size, checksumAlgorithm: image.checksumAlgorithm, checksum: image.checksum };
    const tmp = join(this.dir_, FIRMWARE_INFO_FILE + '.tmp');
    writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n');
    renameSync(tmp, join(this.dir_, FIRMWARE_INFO_FILE));
    return Promise.resolve();
  }

  abort(): void {
    if (this.fd_ !== undefined) closeSync(this.fd_);
    this.fd_ = undefined;
    this.digest_ = undefined;
    if (this.image_ && !this.verified_) rmSync(this.partPath, { force: true });
    this.image_ = undefined;
    this.verified_ = false;
  }

  restart(): void {
    const image = this.image_;
    if (!image || !this.verified_) throw new Error('restart before an installed image');
    this.image_ = undefined;
    this.verified_ = false;
    this.onRestart_(image);
  }
}
