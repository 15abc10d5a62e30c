/**
 * Builds the ESP32 firmware bundle in memory, as `npm run build` writes dist/esp32/tbxs.min.js
 * (rollup.config.mjs: the same input, plugins and terser options), without touching dist/. The
 * size budget test and `npm run bench:xs` measure this, so a stale or missing dist/ cannot hide
 * growth.
 */
import type { OutputOptions, Plugin, RollupOptions } from 'rollup';

export interface Esp32Bundle {
  /** The readable bundle, as dist/esp32/tbxs.js. */
  code: string;
  /** The same through terser, as dist/esp32/tbxs.min.js. */
  minified: string;
  /** Bytes of each module in the readable bundle, by path relative to the repository. */
  modules: { [path: string]: number };
}

export async function buildEsp32Bundle(): Promise<Esp32Bundle> {
  const { rollup } = await import('rollup');
  const terser = (await import('@rollup/plugin-terser')).default as unknown as (options: object) => Plugin;
  const config = (await import(new URL('../../rollup.config.mjs', import.meta.url).href)) as {
    default: RollupOptions[];
    TERSER_OPTIONS: object;
  };
  const esp32 = config.default[0];
  const root = new URL('../../', import.meta.url).pathname;
  const bundle = await rollup({ ...esp32, output: undefined });
  try {
    const base: OutputOptions = { format: 'es', generatedCode: 'es2015' };
    const readable = (await bundle.generate(base)).output[0];
    const minified = (await bundle.generate({ ...base, plugins: [terser(config.TERSER_OPTIONS)] })).output[0];
    const modules: { [path: string]: number } = {};
    for (const [id, m] of Object.entries(readable.modules)) modules[id.startsWith(root) ? id.slice(root.length) : id] = m.renderedLength;
    return { code: readable.code, minified: minified.code, modules };
  } finally {
    await bundle.close();
  }
}
