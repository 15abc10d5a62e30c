import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import type { FirmwareImage, UpdateTarget } from '../../src/platform/update-target';

export interface UpdateTargetHarness {
  target: UpdateTarget;
  /** The bytes of the image installed last (undefined when none). */
  installed(): Uint8Array | undefined;
  /** How many times restart() reached the platform. */
  restarts(): number;
}

function image(bytes: Uint8Array, version: string, checksum?: string): FirmwareImage {
  return { title: 'tbxs', version, size: bytes.length, checksumAlgorithm: 'SHA256', checksum: checksum ?? createHash('sha256').update(bytes).digest('hex') };
}

/** What every UpdateTarget must do (memory, file, ESP32 OTA over a fake Moddable module, ...). */
export function updateTargetContract(make: () => UpdateTargetHarness): void {
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);

  it('writes, verifies, installs and restarts into the image', async () => {
    const h = make();
    h.target.begin(image(bytes, '2'));
    for (let i = 0; i < bytes.length; i += 1024) h.target.write(bytes.subarray(i, i + 1024));
    await h.target.verify();
    expect(h.installed()).toBeUndefined();
    await h.target.install();
    expect(h.installed()).toEqual(bytes);
    h.target.restart();
    expect(h.restarts()).toBe(1);
  });

  it('refuses a checksum mismatch with a message naming it, and installs nothing', async () => {
    const h = make();
    h.target.begin(image(bytes, '3', '00'.repeat(32)));
    h.target.write(bytes);
    await expect(h.target.verify()).rejects.toThrow(/checksum mismatch/i);
    h.target.abort();
    expect(h.installed()).toBeUndefined();
  });

  it('supports SHA256 and refuses an unknown algorithm', () => {
    const h = make();
    expect(h.target.supports('SHA256')).toBe(true);
    expect(h.target.supports('SHA1024')).toBe(false);
    expect(h.target.capacity).toBeGreaterThan(0);
  });

  it('drops an aborted image; a new begin starts from byte 0', async () => {
    const h = make();
    h.target.begin(image(bytes, '4'));
    h.target.write(bytes.subarray(0, 100));
    h.target.abort();
    h.target.begin(image(bytes, '5'));
    h.target.write(bytes);
    await h.target.verify();
    await h.target.install();
    expect(h.installed()).toEqual(bytes);
  });
}
