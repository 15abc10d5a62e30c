/**
 * Where the preload bundle's modules register their top-level bindings (worker side). The rollup
 * plugin in ../preload-plugin.ts appends to every module of ours
 *   registerPreloadModule('src/x.ts', ['a', 'B'], () => [a, B]);
 * so that freeze.ts can reach what a module holds at top level, exported or not, the way the XS
 * linker sees a preloaded module's closure. This module is not instrumented itself, and every
 * instrumented module imports it, so it runs before any of them.
 */

export interface PreloadModule {
  /** Path from the repository root, e.g. 'src/mqtt/session.ts'. */
  readonly id: string;
  /** The module's top-level binding names, in source order. */
  readonly names: readonly string[];
  /** The bindings' current values, in the order of `names`. */
  readonly values: () => readonly unknown[];
}

export const preloadModules: PreloadModule[] = [];

/**
 * The global properties that exist before any module of ours ran: the engine's built-ins and
 * xsnap's host functions. What our code adds to globalThis is reached through its modules instead.
 */
export const builtinGlobals: readonly PropertyKey[] = Reflect.ownKeys(globalThis);

export function registerPreloadModule(id: string, names: readonly string[], values: () => readonly unknown[]): void {
  preloadModules.push({ id, names, values });
}
