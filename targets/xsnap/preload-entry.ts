/**
 * The firmware (firmware-entry.ts) for a simulated Moddable preload: bundle.ts builds it with the
 * preload rollup plugin (every module registers its top-level bindings, preload/registry.ts), and
 * runXsDevice({ preload: true }) calls `tbxsPreload.freeze()` after loading it and before starting
 * the app. What the freeze covers: preload/freeze.ts.
 *
 * `globalThis.tbxsPreload`, for the host and the tests:
 * - freeze(): freezes, returns the report (PreloadReport as UTF-8 JSON in an ArrayBuffer, which
 *   the worker hands back as the reply); report(): the same, later;
 * - aliases(pattern): what xsl would call "not frozen" in the modules matching `pattern`, before freeze();
 * - assertUnchanged(): throws a TypeError listing writes that cannot throw at once here (a module
 *   binding holding a function reassigned, preloaded bytes written);
 * - binding(id, name): a module's top-level binding, e.g. binding('hal/types/tbxs-error.ts', 'TbxsError')
 *   or binding('targets/xsnap/preload-entry.ts', 'FIXTURES');
 * - setFixtureFunction(f): reassigns `fixtureFunction` below (undefined restores it).
 */
import './firmware-entry';
import { utf8Encode } from '../../src/platform/utf8';
import { assertPreloadUnchanged, freezeAsPreloaded, preloadAliasEntries, preloadAliases, preloadedBinding, preloadReport } from './preload/freeze';

/**
 * One module-level value of each kind, for the negative controls in test/xs/xs-preload.test.ts.
 * They are found and frozen through the registry like the firmware's own, so a control that
 * throws shows the freeze reached the modules, not only the built-ins.
 */
const FIXTURES = {
  map: new Map([[1, 'one']]),
  set: new Set([1]),
  bytes: new Uint8Array([1, 2, 3]),
  object: { n: 0 },
  list: [0],
};

const ORIGINAL_FIXTURE_FUNCTION = (): number => 0;
// A module let holding a function: reassigning it at run time fails after a real preload.
let fixtureFunction = ORIGINAL_FIXTURE_FUNCTION;

function json(value: unknown): ArrayBuffer {
  const bytes = utf8Encode(JSON.stringify(value));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

const api = {
  freeze: (): ArrayBuffer => json(freezeAsPreloaded()),
  /** preloadAliases() of the modules whose id matches `pattern` (before freeze()). */
  aliases: (pattern: string): ArrayBuffer => json(preloadAliases(new RegExp(pattern))),
  /** The same with each alias's slots (preloadAliasEntries). */
  aliasEntries: (pattern: string): ArrayBuffer => json(preloadAliasEntries(new RegExp(pattern))),
  report: (): ArrayBuffer => json(preloadReport() ?? null),
  assertUnchanged: assertPreloadUnchanged,
  binding: preloadedBinding,
  setFixtureFunction(f?: () => number): void {
    fixtureFunction = f ?? ORIGINAL_FIXTURE_FUNCTION;
  },
};

(globalThis as unknown as { tbxsPreload: typeof api }).tbxsPreload = api;
