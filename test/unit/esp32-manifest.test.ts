import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../targets/esp32/config';

/**
 * The Moddable manifest cannot be built here (no Moddable SDK): this checks its shape. It is
 * plain JSON (Moddable also accepts trailing commas; we do not use them), its "main" modules are
 * the files `npm run build` writes, its config keys are the ones the firmware documents, and
 * every platform is either supported or refused with a message.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(root + 'manifest.json', 'utf8'));
const rollupOutputs = readFileSync(root + 'rollup.config.mjs', 'utf8');

describe('manifest.json (Moddable)', () => {
  it('includes the Moddable manifests the firmware needs', () => {
    const includes: string[] = manifest.include;
    for (const needed of [
      '$(MODDABLE)/examples/manifest_base.json',
      '$(MODDABLE)/examples/manifest_net.json',
      '$(MODDABLE)/modules/files/preference/manifest.json',
      '$(MODDABLE)/modules/data/text/encoder/manifest.json',
      '$(MODDABLE)/modules/data/text/decoder/manifest.json',
      '$(MODDABLE)/examples/io/tcp/tlssocket/manifest.json',
    ]) {
      expect(includes).toContain(needed);
    }
    expect(manifest.platforms.esp32.include).toContain('$(MODDABLE)/modules/io/manifest.json');
    for (const p of ['lin', 'mac', 'win']) expect(manifest.platforms[p].include).toContain('$(MODDABLE)/modules/io/manifests/' + p + '/manifest.json');
  });

  it('maps "main" per platform to a bundle that npm run build writes, and preloads it', () => {
    expect(manifest.preload).toContain('main');
    const device = manifest.platforms.esp32.modules.main as string;
    expect(device).toBe('./dist/esp32/tbxs');
    for (const p of ['lin', 'mac', 'win']) expect(manifest.platforms[p].modules.main).toBe('./dist/esp32/tbxs-sim');
    for (const path of [device, './dist/esp32/tbxs-sim']) {
      // The rollup config writes <path>.js ...
      expect(rollupOutputs).toContain("'" + path.slice(2) + ".js'");
      // ... and after a build it is there (npm run build runs before mcconfig).
      if (existsSync(root + 'dist/esp32')) expect(existsSync(root + path.slice(2) + '.js'), path + '.js').toBe(true);
    }
  });

  it('has config defaults for the documented keys only', () => {
    for (const key of ['tbHost', 'tbPort', 'tbToken', 'board', 'sntp']) expect(manifest.config).toHaveProperty(key);
    for (const key of Object.keys(manifest.config)) expect(CONFIG_KEYS, key).toHaveProperty(key);
  });

  it('refuses other platforms with a message', () => {
    expect(Object.keys(manifest.platforms).sort()).toEqual(['...', 'esp32', 'lin', 'mac', 'win']);
    expect(manifest.platforms['...'].error).toMatch(/esp32.*lin, mac or win/);
  });
});
