import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { FileUpdateTarget, installedFirmware } from '../../targets/host/platform/file-update-target';
import { MemoryUpdateTarget } from '../support/memory-update-target';
import { Esp32UpdateTarget } from '../../targets/esp32/ota-target';
import { updateTargetContract } from './update-target.contract';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('UpdateTarget contract: MemoryUpdateTarget (test double)', () => {
  updateTargetContract(() => {
    const target = new MemoryUpdateTarget();
    return { target, installed: () => target.installed?.bytes, restarts: () => target.restarts };
  });
});

describe('UpdateTarget contract: FileUpdateTarget (tbxs device --ota-dir)', () => {
  updateTargetContract(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tbxs-ota-'));
    dirs.push(dir);
    let restarts = 0;
    const target = new FileUpdateTarget({ dir, onRestart: () => restarts++ });
    return {
      target,
      installed: () => {
        if (!installedFirmware(dir)) return undefined;
        return new Uint8Array(readFileSync(join(dir, 'firmware.bin')));
      },
      restarts: () => restarts,
    };
  });
});

describe('UpdateTarget contract: Esp32UpdateTarget over fakes of Moddable’s ota and crypt', () => {
  updateTargetContract(() => {
    let booted: Uint8Array | undefined;
    let restarts = 0;
    class FakeOta {
      private bytes: number[] = [];
      private open = true;
      write(b: Uint8Array): void {
        if (!this.open) throw new Error('bad state');
        for (const x of b) this.bytes.push(x);
      }
      cancel(): void {
        this.open = false;
      }
      complete(): void {
        if (!this.open) throw new Error('bad state');
        this.open = false;
        booted = Uint8Array.from(this.bytes);
      }
    }
    class FakeDigest {
      private readonly h;
      constructor(type: string) {
        this.h = createHash(type.toLowerCase());
      }
      write(b: Uint8Array): void {
        this.h.update(b);
      }
      close(): ArrayBuffer {
        const out = this.h.digest();
        return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
      }
    }
    const target = new Esp32UpdateTarget({ OTA: FakeOta, Digest: FakeDigest, restart: () => restarts++, capacity: 0x1f0000 });
    return { target, installed: () => booted, restarts: () => restarts };
  });
});
