import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { FileUpdateTarget, installedFirmware } from '../../targets/host/platform/file-update-target';
import { MemoryUpdateTarget } from '../support/memory-update-target';
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
