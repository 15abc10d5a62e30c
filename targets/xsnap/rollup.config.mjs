/**
 * Bundles code for the xsnap worker (real XS engine, see worker.ts): one IIFE script, because the
 * worker evaluates scripts only (no module loader behind `e`), with mqtt-packet's Node
 * dependencies replaced by targets/xs-shims.
 *
 *   npx rollup -c targets/xsnap/rollup.config.mjs            # probe -> dist/xsnap/probe.js
 *
 * Other targets import { xsPlugins } and give their own input/output.
 */
import { fileURLToPath } from 'node:url';
import alias from '@rollup/plugin-alias';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const shims = fileURLToPath(new URL('../xs-shims/', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Aliases from Node/npm module names to the XS shims. `textModules: 'global'` maps Moddable's
 * `text/encoder` / `text/decoder` to the TextEncoder/TextDecoder globals (xsnap); on Moddable
 * leave them to the manifest (`textModules: 'moddable'`, and mark them external).
 */
export function xsShimAliases({ textModules = 'global' } = {}) {
  const entries = [
    { find: /^buffer\/?$/, replacement: shims + 'buffer.js' },
    { find: /^events$/, replacement: shims + 'events.js' },
    { find: /^bl$/, replacement: shims + 'bl.js' },
    { find: /^debug$/, replacement: shims + 'debug.js' },
    { find: /^process-nextick-args$/, replacement: shims + 'process-nextick-args.js' },
  ];
  if (textModules === 'global') {
    entries.push(
      { find: /^text\/encoder$/, replacement: shims + 'text-encoder-global.js' },
      { find: /^text\/decoder$/, replacement: shims + 'text-decoder-global.js' },
    );
  }
  return entries;
}

/**
 * Source patches to mqtt-packet 9. Each must match exactly once, or the build fails (so an
 * mqtt-packet upgrade cannot silently drop one).
 * - varByteIntCache: grows by ~7 slots per distinct packet length, up to 16,384 entries
 *   (DESIGN.md); on a 4,928-slot heap that is a leak. Compute the length bytes every time.
 */
const WRITE_TO_STREAM = /mqtt-packet[\\/]writeToStream\.js$/;
const MQTT_PACKET_PATCHES = [
  {
    file: WRITE_TO_STREAM,
    find: 'if (num < 16384) varByteIntCache[num] = buffer',
    replace: '/* tbxs: varByteIntCache disabled (unbounded slot growth on XS) */',
  },
  // The number cache off for good, as constants: after a Moddable preload a module `let` read by
  // a closure is an alias of RAM (xsl "no const"), and the empty caches stay frozen ("not frozen").
  {
    file: WRITE_TO_STREAM,
    find: 'let writeNumber = writeNumberCached\nlet toGenerate = true',
    replace: 'const writeNumber = writeNumberGenerated /* tbxs: no number cache */',
  },
  {
    file: WRITE_TO_STREAM,
    find: '  if (toGenerate) {\n    toGenerate = false\n    generateCache()\n  }\n',
    replace: '',
  },
  {
    file: WRITE_TO_STREAM,
    find:
      '  set (value) {\n    if (value) {\n      if (!numCache || Object.keys(numCache).length === 0) toGenerate = true\n      writeNumber = writeNumberCached\n' +
      '    } else {\n      toGenerate = false\n      writeNumber = writeNumberGenerated\n    }\n  }',
    replace: "  set (value) {\n    if (value) throw new Error('mqtt-packet number cache: off on XS (65,536 entries; DESIGN.md)')\n  }",
  },
  { file: WRITE_TO_STREAM, find: 'const varByteIntCache = {}', replace: 'const varByteIntCache = Object.freeze({})' },
  { file: /mqtt-packet[\\/]mqtt\.js$/, find: "exports.writeToStream = require('./writeToStream')\n", replace: "exports.writeToStream = require('./writeToStream')\nObject.freeze(exports)\n" },
  // One frozen state table for every parser, in flash once preloaded, instead of an array of four
  // strings per parser in RAM.
  {
    file: /mqtt-packet[\\/]parser\.js$/,
    find: "    this._states = [\n      '_parseHeader',\n      '_parseLength',\n      '_parsePayload',\n      '_newPacket'\n    ]\n",
    replace: '    this._states = TBXS_PARSER_STATES\n',
    append: "\nconst TBXS_PARSER_STATES = Object.freeze(['_parseHeader', '_parseLength', '_parsePayload', '_newPacket'])\n",
  },
  { file: /mqtt-packet[\\/]numbers\.js$/, find: 'const cache = {}', replace: 'const cache = Object.freeze({})' },
  // The protocol tables, deeply frozen so a preload keeps them in flash (xsl "not frozen").
  {
    file: /mqtt-packet[\\/]constants\.js$/,
    find: 'const protocol = module.exports\n',
    replace: 'const protocol = module.exports\n',
    // Buffers (typed arrays with elements) cannot be frozen: those stay as they are.
    append:
      '\n;(function tbxsDeepFreeze (o) { if (ArrayBuffer.isView(o)) return; Object.freeze(o); ' +
      "for (const k of Object.keys(o)) if (o[k] && typeof o[k] === 'object') tbxsDeepFreeze(o[k]) })(protocol)\n",
  },
];

// mqtt-packet's debug('...', args) statements, one per line: even with a no-op debug each costs
// a call and its arguments on every packet. Replaced by `void 0` (keeps brace-less ifs intact).
const DEBUG_STATEMENT = /^([ \t]*)debug\(.*\)[ \t]*$/gm;
const DEBUG_FILES = /mqtt-packet[\\/](writeToStream|parser)\.js$/;

/**
 * The device generates only CONNECT, SUBSCRIBE, UNSUBSCRIBE and DISCONNECT with mqtt-packet
 * (src/mqtt/mqtt-packet-codec.ts; PUBLISH, PUBACK and PINGREQ come from the hand encoder). In the
 * ESP32 bundles the other generators (server packets, MQTT 5 AUTH, PUBLISH) are cut off the
 * switch, so rollup drops them: about 3 KB of the size budget. Asking for one throws, by name.
 */
const DEVICE_GENERATORS_ONLY = {
  file: WRITE_TO_STREAM,
  find:
    "    case 'connack':\n      return connack(packet, stream, opts)\n    case 'publish':\n      return publish(packet, stream, opts)\n" +
    "    case 'puback':\n    case 'pubrec':\n    case 'pubrel':\n    case 'pubcomp':\n      return confirmation(packet, stream, opts)\n",
  replace: '',
};
const DEVICE_GENERATORS_ONLY_2 = [
  { file: WRITE_TO_STREAM, find: "    case 'suback':\n      return suback(packet, stream, opts)\n", replace: '' },
  { file: WRITE_TO_STREAM, find: "    case 'unsuback':\n      return unsuback(packet, stream, opts)\n", replace: '' },
  { file: WRITE_TO_STREAM, find: "    case 'pingreq':\n    case 'pingresp':\n      return emptyPacket(packet, stream, opts)\n", replace: '' },
  {
    file: WRITE_TO_STREAM,
    find: "    case 'auth':\n      return auth(packet, stream, opts)\n    default:\n      stream.destroy(new Error('Unknown command'))",
    replace: "    default:\n      stream.destroy(new Error('tbxs: mqtt-packet generates only connect, subscribe, unsubscribe and disconnect on the device, not ' + packet.cmd))",
  },
];

/**
 * The parser methods for packets the device never hands mqtt-packet: what a server receives
 * (CONNECT, SUBSCRIBE, UNSUBSCRIBE, AUTH, DISCONNECT) and the fixed-size acknowledgements that
 * src/mqtt/decode.ts reads itself (CONNACK, UNSUBACK, PUBACK and the QoS 2 ones); the device
 * parses PUBLISH and SUBACK with it. In the ESP32 bundles each body becomes an error by name:
 * 5,933 bytes of the minified bundle.
 */
const PARSERS_NOT_ON_DEVICE = ['_parseConnect', '_parseConnack', '_parseSubscribe', '_parseUnsubscribe', '_parseUnsuback', '_parseConfirmation', '_parseDisconnect', '_parseAuth'];
const PARSER_FILE = /mqtt-packet[\\/]parser\.js$/;

/** Replaces each listed method of parser.js (2-space class body, closing `  }` line) by an error. */
function stripParsers(code, fail) {
  let out = code;
  for (const name of PARSERS_NOT_ON_DEVICE) {
    const head = '\n  ' + name + ' () {\n';
    const start = out.indexOf(head);
    if (start < 0 || out.indexOf(head, start + 1) >= 0) fail(`mqtt-packet parser method expected once: ${name}`);
    const end = out.indexOf('\n  }\n', start + head.length);
    if (end < 0) fail(`mqtt-packet parser method ${name}: no closing line`);
    const what = name.slice('_parse'.length).toLowerCase();
    out = out.slice(0, start) + head + "    this._emitError(new Error('tbxs: mqtt-packet parses only publish and suback on the device, not " + what + "'))" + out.slice(end);
  }
  return out;
}

export function patchMqttPacket({ stripDebug = true, deviceGeneratorsOnly = false } = {}) {
  const patches = deviceGeneratorsOnly ? [...MQTT_PACKET_PATCHES, DEVICE_GENERATORS_ONLY, ...DEVICE_GENERATORS_ONLY_2] : MQTT_PACKET_PATCHES;
  return {
    name: 'tbxs-patch-mqtt-packet',
    transform(code, id) {
      let out = code;
      if (stripDebug && DEBUG_FILES.test(id)) out = out.replace(DEBUG_STATEMENT, '$1void 0');
      if (deviceGeneratorsOnly && PARSER_FILE.test(id)) out = stripParsers(out, (message) => this.error(message));
      for (const patch of patches) {
        if (!patch.file.test(id)) continue;
        const count = out.split(patch.find).length - 1;
        if (count !== 1) this.error(`mqtt-packet patch expected once in ${id}, found ${count}: ${patch.find}`);
        out = out.replace(patch.find, patch.replace);
        if (patch.append) out += patch.append;
      }
      return out === code ? null : { code: out, map: null };
    },
  };
}

/**
 * The commonjs plugin binds an imported CommonJS module as `var xExports = requireX();` at top
 * level; a var read by preloaded functions is an alias of RAM (xsl "no const"). Nothing assigns
 * these again, so they become const.
 */
const REQUIRE_BINDING = /^var (\w+) = (require\w+\(\));$/gm;
export function constRequireBindings() {
  return {
    name: 'tbxs-const-require-bindings',
    renderChunk(code) {
      const out = code.replace(REQUIRE_BINDING, 'const $1 = $2;');
      return out === code ? null : { code: out, map: null };
    },
  };
}

/** TypeScript via esbuild (already installed for tsx/vitest): types stripped, nothing else. */
export function typescript() {
  return {
    name: 'tbxs-esbuild-ts',
    async transform(code, id) {
      if (!/\.[cm]?ts$/.test(id)) return null;
      const { transform } = await import('esbuild');
      const result = await transform(code, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: id, sourcemap: false });
      return { code: result.code, map: null };
    },
  };
}

export function xsPlugins(options = {}) {
  return [
    alias({ entries: xsShimAliases(options) }),
    typescript(),
    patchMqttPacket(options),
    nodeResolve({ extensions: ['.mjs', '.js', '.ts', '.json'], preferBuiltins: false, browser: false }),
    commonjs({ requireReturnsDefault: 'auto', ignoreDynamicRequires: true, transformMixedEsModules: true }),
    constRequireBindings(),
  ];
}

export default {
  input: fileURLToPath(new URL('./probe-entry.js', import.meta.url)),
  output: { file: root + 'dist/xsnap/probe.js', format: 'iife', generatedCode: 'es2015', strict: true },
  plugins: xsPlugins(),
  treeshake: { moduleSideEffects: true },
};
