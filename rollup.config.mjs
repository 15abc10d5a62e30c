/**
 * The Moddable firmware bundles, each one self-contained ES module: src, targets/esp32 and
 * mqtt-packet (its Node dependencies replaced by targets/xs-shims), with
 *   dist/esp32/tbxs.js      hal/moddable (ECMA-419 IO): the ESP32 "main";
 *   dist/esp32/tbxs-sim.js  hal/mock with simulated sensors: the "main" of Moddable's desktop
 *                           simulator (lin, mac, win), which has no embedded:io/digital.
 * Moddable's own modules stay imports; manifest.json lists them.
 *
 *   npm run build     # rollup -c
 *
 * tbxs.min.js is the same code through terser, for the size budget (< 131,072 bytes); the manifest
 * uses the readable one, since XS compiles either to the same kind of bytecode and xsbug shows
 * the source.
 */
import { fileURLToPath } from 'node:url';
import terser from '@rollup/plugin-terser';
import { xsPlugins } from './targets/xsnap/rollup.config.mjs';

const root = fileURLToPath(new URL('./', import.meta.url));

/** Modules the Moddable build provides (see manifest.json). */
const MODDABLE_MODULES = new Set([
  'mc/config',
  'timer',
  'time',
  'preference',
  'wifi',
  'net',
  'sntp',
  'dns',
  'socket',
  'Resource',
  'text/encoder',
  'text/decoder',
  'ota',
  'crypt',
]);

/**
 * terser options for tbxs.min.js (and for minified xsnap bundles, which the XS tests can run):
 * - mangle.properties: only names ending in `_`, the convention for `private` class members
 *   (`private conn_`). Such a name must never cross a boundary: no JSON key, string key,
 *   xsnap bridge message or Moddable API property may end in `_`.
 * - unsafe_arrows: function expressions become arrows; safe because the code has no plain
 *   function used with `new`, `.prototype` or `this` (classes only), and nothing reads
 *   Function.prototype.name (undefined in preloaded XS anyway, DESIGN.md).
 * - passes 3 (36 bytes less than 2). Not `unsafe`: it would save 271 bytes but turns `String(x)`
 *   into `"" + x`, which throws for a Symbol, and describeError() stringifies whatever was thrown.
 *   Not `pure_getters` either (43 bytes): it would let terser drop a property read that is the
 *   only thing throwing on a null.
 */
export const TERSER_OPTIONS = {
  module: true,
  ecma: 2020,
  compress: { passes: 3, unsafe_arrows: true },
  mangle: { properties: { regex: /_$/ } },
  format: { comments: false },
};

export function isModdableModule(id) {
  return id.startsWith('embedded:') || MODDABLE_MODULES.has(id);
}

const shared = {
  external: isModdableModule,
  // textModules 'moddable': text/encoder and text/decoder stay imports of Moddable's modules.
  plugins: xsPlugins({ textModules: 'moddable', deviceGeneratorsOnly: true }),
  treeshake: { moduleSideEffects: true },
  onwarn(warning, warn) {
    // mqtt-packet's CommonJS has `this` at top level and circular requires: harmless here.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
};

export default [
  {
    ...shared,
    input: root + 'targets/esp32/main.ts',
    output: [
      { file: root + 'dist/esp32/tbxs.js', format: 'es', generatedCode: 'es2015' },
      {
        file: root + 'dist/esp32/tbxs.min.js',
        format: 'es',
        generatedCode: 'es2015',
        plugins: [terser(TERSER_OPTIONS)],
      },
    ],
  },
  {
    ...shared,
    input: root + 'targets/esp32/main-simulator.ts',
    output: { file: root + 'dist/esp32/tbxs-sim.js', format: 'es', generatedCode: 'es2015' },
  },
];
