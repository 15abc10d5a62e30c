/**
 * Builds the firmware script for xsnap-worker with rollup (IIFE: the worker evaluates scripts
 * only) and caches it in dist/xsnap/: rebuilt when any source it can include is newer than the
 * cached file. Host side (Node).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OutputOptions, Plugin, RollupOptions } from 'rollup';
import { preloadRegistryPlugin } from './preload-plugin';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const configUrl = new URL('./rollup.config.mjs', import.meta.url).href;
const rootConfigUrl = new URL('../../rollup.config.mjs', import.meta.url).href;

export const ENTRIES = {
  /** The firmware: what runXsDevice loads. */
  firmware: join(ROOT, 'targets/xsnap/firmware-entry.ts'),
  /** The firmware plus the benchmark harness (test/bench/xs-bench.ts). */
  bench: join(ROOT, 'targets/xsnap/bench-entry.ts'),
  /**
   * The firmware for a simulated Moddable preload: every module registers its top-level bindings
   * (preload-plugin.ts) and `tbxsPreload.freeze()` freezes them (runXsDevice({ preload: true })).
   */
  preload: join(ROOT, 'targets/xsnap/preload-entry.ts'),
  /**
   * The ESP32 and simulator firmware's modules with stubbed Moddable modules and mqtt-packet
   * patched as in the ESP32 bundles, registered like 'preload', for the linker's "not frozen"
   * check and the device codec's (esp32-preload-entry.ts). The firmware is loaded, never started.
   */
  'esp32-preload': join(ROOT, 'targets/xsnap/esp32-preload-entry.ts'),
} as const;

export interface BuildOptions {
  /** Minify with @rollup/plugin-terser (if installed). Default false. */
  minify?: boolean;
  /** Ignore the cache. */
  force?: boolean;
}

/** Directories and files whose changes make a cached bundle stale. */
const SOURCES = ['src', 'hal', 'targets/xsnap', 'targets/xs-shims', 'targets/esp32', 'targets/host/simulated-board.ts', 'node_modules/mqtt-packet/package.json'];

function newestMtime(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const t = newestMtime(join(path, name));
    if (t > newest) newest = t;
  }
  return newest;
}

async function loadTerser(): Promise<Plugin | undefined> {
  try {
    const mod = (await import('@rollup/plugin-terser' as string)) as { default: (o?: unknown) => Plugin };
    // The ESP32 build's options (private members mangled too), as a script: the worker evaluates
    // an IIFE, whose 'use strict' a module-mode terser would drop.
    const { TERSER_OPTIONS } = (await import(rootConfigUrl)) as { TERSER_OPTIONS: object };
    return mod.default({ ...TERSER_OPTIONS, module: false });
  } catch {
    return undefined;
  }
}

/**
 * Runs rollup for `input` and returns the IIFE source; `extra` plugins run after the config's
 * (before terser). `device`: mqtt-packet patched as in the ESP32 bundles (rollup.config.mjs:
 * only the generators and parsers the device uses).
 */
export async function rollupXs(input: string, minify = false, extra: Plugin[] = [], device = false): Promise<string> {
  const { rollup } = await import('rollup');
  const configModule = (await import(configUrl)) as { default: RollupOptions; xsPlugins: (o?: object) => Plugin[] };
  const config = configModule.default;
  const base = device ? configModule.xsPlugins({ deviceGeneratorsOnly: true }) : ((config.plugins as Plugin[]) ?? []);
  const plugins = [...base, ...extra];
  if (minify) {
    const terser = await loadTerser();
    if (!terser) throw new Error('minifying needs @rollup/plugin-terser: npm install --save-dev @rollup/plugin-terser');
    plugins.push(terser);
  }
  const bundle = await rollup({ ...config, input, plugins, onwarn: () => undefined });
  try {
    const { output } = await bundle.generate({ ...(config.output as OutputOptions), file: undefined, name: undefined });
    return output[0].code;
  } finally {
    await bundle.close();
  }
}

/** Every Moddable module id (see the root rollup.config.mjs) resolves to preload/moddable-stub.ts. */
function moddableStubs(): Plugin {
  const stub = join(ROOT, 'targets/xsnap/preload/moddable-stub.ts');
  const moddable = new Set(['mc/config', 'timer', 'time', 'preference', 'wifi', 'net', 'sntp', 'dns', 'socket', 'Resource', 'ota', 'crypt']);
  return {
    name: 'tbxs-moddable-stubs',
    resolveId: (id) => (id.startsWith('embedded:') || moddable.has(id) ? stub : null),
  };
}

/** Path of the cached bundle for an entry. */
export function bundlePath(entry: keyof typeof ENTRIES, minify = false): string {
  return join(ROOT, 'dist/xsnap', entry + (minify ? '.min' : '') + '.js');
}

/** Returns the bundle's source, building it when the cache is missing or stale. */
export async function buildXsFirmware(entry: keyof typeof ENTRIES = 'firmware', options: BuildOptions = {}): Promise<string> {
  const out = bundlePath(entry, options.minify);
  if (!options.force) {
    let built = 0;
    try {
      built = statSync(out).mtimeMs;
    } catch {
      built = 0;
    }
    if (built > 0 && SOURCES.every((s) => newestMtime(join(ROOT, s)) < built)) return readFileSync(out, 'utf8');
  }
  const extra = entry === 'preload' || entry === 'esp32-preload' ? [preloadRegistryPlugin(ROOT, join(ROOT, 'targets/xsnap/preload/registry.ts'))] : [];
  if (entry === 'esp32-preload') extra.unshift(moddableStubs());
  const code = await rollupXs(ENTRIES[entry], options.minify, extra, entry === 'esp32-preload');
  mkdirSync(dirname(out), { recursive: true });
  // Atomic: test files build in parallel processes.
  const tmp = out + '.' + process.pid + '.tmp';
  writeFileSync(tmp, code);
  renameSync(tmp, out);
  return code;
}
