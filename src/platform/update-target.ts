/**
 * Where a downloaded firmware image goes, behind one interface so the OTA protocol
 * (src/thingsboard/firmware-update.ts) stays portable. Targets wire the real one: on an ESP32
 * Moddable's `ota` module writing the next OTA partition (targets/esp32/ota-target.ts), on a
 * laptop a temporary file renamed into place (targets/host/platform/file-update-target.ts), on the
 * XS engine the host's file target through the bridge.
 *
 * One image at a time. The checksum is checked where the bytes go (the digest streams chunk by
 * chunk; nothing holds the whole image in RAM).
 */

/** What the server announced (shared attributes fw_title, fw_version, fw_size, fw_checksum_algorithm, fw_checksum). */
export interface FirmwareImage {
  title: string;
  version: string;
  /** Bytes. */
  size: number;
  /** ThingsBoard's name: MD5, SHA256, SHA384, SHA512, CRC32, MURMUR3_32 or MURMUR3_128. */
  checksumAlgorithm: string;
  /** Hex, as ThingsBoard prints it. */
  checksum: string;
}

/** A streaming digest; `hex()` ends it. */
export interface Digest {
  update(bytes: Uint8Array): void;
  /** Lower-case hex in ThingsBoard's byte order. */
  hex(): string;
}

export interface UpdateTarget {
  /** The largest image it can take, in bytes (the update partition's size). */
  readonly capacity: number;
  /** Whether it can check images with this checksum algorithm (ThingsBoard's name). */
  supports(algorithm: string): boolean;
  /** Starts a new image from byte 0; an unfinished one is dropped. Throws when it cannot. */
  begin(image: FirmwareImage): void;
  /** Appends the next bytes of the image. Throws when they cannot be written. */
  write(bytes: Uint8Array): void;
  /**
   * After the last byte: checks the checksum over everything written. Rejects with a message a
   * person can act on (checksum mismatch, a write that failed on the way).
   */
  verify(): Promise<void>;
  /** After verify(): makes the image the one the next start runs (ESP32: the boot partition; host: the file renamed into place). */
  install(): Promise<void>;
  /** Drops an unfinished image (nothing is installed). */
  abort(): void;
  /** Starts the installed image: a reboot on a board, a restart of the firmware on a laptop. */
  restart(): void;
  /** Called once the new image has connected: keeps it (boards that roll back an image not confirmed). */
  confirm?(): void;
}
