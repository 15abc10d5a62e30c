import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rollup, type RollupOptions } from 'rollup';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../targets/esp32/config';

/**
 * The Moddable manifest cannot be built here (no Moddable SDK): this checks its shape. It is
 * plain JSON (Moddable also accepts trailing commas; we do not use them), its "main" modules are
 * the files `npm run build` writes, its config keys are the ones the firmware documents, and
 * every platform is either supported or refused with a message, and each bundle imports only
 * modules that the included Moddable manifests provide on its platforms.
 *
 * Checked against the Moddable sources (Moddable-OpenSource/moddable):
 * - every "$(MODDABLE)/..." include exists; per-platform sections and the "..." fallback with
 *   "error" are what tools/mcmanifest.js matchPlatform/mergePlatform read ("esp32/<board>" falls
 *   back to "esp32"); `key=value` arguments land in mc/config as strings (tools/mcconfig.js
 *   filterConfig), and a value containing "=" is taken for a manifest path;
 * - modules/io/manifest.json includes modules/io/manifests/esp32/manifest.json on esp32 (lwIP
 *   sockets, analog, digital, i2c, pwm); modules/io/manifests/{lin,mac,win}/manifest.json give the
 *   desktop simulators TCP only (modules/io/digital/manifest.json is empty for them).
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

  it('imports only modules the included manifests provide, per platform', async () => {
    const configs = (await import(new URL('../../rollup.config.mjs', import.meta.url).href)).default as RollupOptions[];
    const importsOf = async (entry: string) => {
      const config = configs.find((c) => String(c.input).endsWith(entry))!;
      const bundle = await rollup({ ...config, output: undefined });
      const { output } = await bundle.generate({ format: 'es' });
      await bundle.close();
      return output[0].imports.slice().sort();
    };
    for (const [entry, platforms] of [
      ['targets/esp32/main.ts', ['esp32']],
      ['targets/esp32/main-simulator.ts', ['lin', 'mac', 'win']],
    ] as const) {
      for (const specifier of await importsOf(entry)) {
        for (const platform of platforms) expect(PROVIDED[specifier] ?? [], specifier + ' on ' + platform).toContain(platform);
      }
    }
  }, 60_000);
});

const ALL = ['esp32', 'lin', 'mac', 'win'];
/**
 * Which platforms get each module from the manifests manifest.json includes (Moddable sources).
 * Conservative for the simulators: `wifi` and `sntp` are left out there, since older
 * examples/manifest_net.json versions gave lin and win neither.
 */
const PROVIDED: Record<string, readonly string[]> = {
  'mc/config': ALL, // generated by tools/mcconfig.js from "config" and key=value arguments
  Resource: ALL, // examples/manifest_base.json
  timer: ALL, // examples/manifest_base.json
  time: ALL, // examples/manifest_base.json
  net: ALL, // examples/manifest_net.json
  wifi: ['esp32'], // modules/network/wifi/manifest.json, through manifest_net.json
  sntp: ['esp32'], // examples/manifest_net.json
  preference: ALL, // modules/files/preference/manifest.json (NVS on esp32, a JSON file on lin)
  'text/encoder': ALL, // modules/data/text/encoder/manifest.json
  'text/decoder': ALL, // modules/data/text/decoder/manifest.json
  'embedded:io/socket/tcp': ALL, // modules/io/manifests/esp32 (lwip/tcp), modules/io/manifests/<desktop>
  'embedded:io/socket/tcp/tls': ALL, // examples/io/tcp/tlssocket/manifest.json
  'embedded:io/digital': ['esp32'], // modules/io/digital/manifest.json
  'embedded:io/i2c': ['esp32'], // modules/io/i2c/manifest.json
  'embedded:io/analog': ['esp32'], // modules/io/analog/manifest.json
  'embedded:io/pwm': ['esp32'], // modules/io/pwm/manifest.json
  ota: ['esp32'], // build/devices/esp32/modules/ota/manifest.json (esp32 only; it errors elsewhere)
  crypt: ['esp32'], // modules/crypt/digest/manifest.json
};
