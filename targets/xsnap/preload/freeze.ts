/**
 * "Freeze as the XS linker would after preload", inside xsnap-worker (worker side). On the device
 * the manifest preloads `main` (the whole rollup bundle: src, hal, targets/esp32), so its module
 * bodies run at build time and what they leave is in flash. DESIGN.md ("Preloading on Moddable
 * 5.6.0") lists what fails at run time after that; this module makes the same writes fail here,
 * after the bundle was loaded and before the firmware starts, so the real firmware scenario runs
 * against it (test/xs/xs-preload.test.ts, runXsDevice({ preload: true })).
 *
 * Simulated (writes throw TypeError in strict code at once, as on the device):
 * - Built-ins: every object reachable from the globals that existed before our code ran
 *   (registry.ts), plus the anonymous intrinsics (iterator, generator and async function
 *   prototypes), walked through own properties (string and symbol keys, getters and setters) and
 *   [[Prototype]], and Object.freeze'd, like SES harden without SES. So adding to or assigning
 *   over a built-in prototype fails, and so does assigning an inherited built-in property on an
 *   ordinary object (`err.name = ...`, `o.toString = ...`: the override mistake).
 * - Our code: every value a module holds at top level, exported or not (the preload rollup plugin
 *   registers all top-level bindings of every module), walked the same way. Functions (classes
 *   included) and each function's `.prototype` are frozen: static fields, properties on
 *   functions, methods added to or replaced on a prototype all fail. Map, Set, WeakMap and WeakSet
 *   get their mutators (set/add/delete/clear) shadowed by own read-only methods that throw, then
 *   are frozen. Typed arrays and DataViews get their mutating methods (set, fill, copyWithin,
 *   reverse, sort, DataView set*) shadowed the same way.
 * - Left writable, as on the device (copied to RAM on first write): plain objects, arrays, class
 *   instances and other ordinary objects held at module level (only the functions, prototypes and
 *   collections inside them are frozen), module `let`s holding numbers, strings or objects, and
 *   the global object itself (Moddable's main may add globals).
 *
 * Detected after the fact, not at the write (JavaScript cannot make these throw):
 * - reassigning a module-level binding that held a function at freeze time;
 * - element writes (`bytes[i] = x`) into a typed array, DataView or ArrayBuffer reachable at freeze
 *   time. preloadViolations() compares both with what they were at freeze time; the tests call it
 *   after every step.
 *
 * Not simulated:
 * - Values reachable only through a closure (e.g. a Map created inside a top-level IIFE and kept in
 *   its scope): the walk cannot see closures, the linker freezes them too.
 * - `Function.prototype.name` being undefined (DESIGN.md): XS gives every function an own `name`.
 * - WeakMap/WeakSet are assumed to behave like Map/Set (same implementation in XS; not measured).
 * - The linker's GC, flash placement and slot accounting; which modules are preloaded (here the
 *   whole bundle, as manifest.json preloads `main`); hal/moddable and targets/esp32 are not in this
 *   bundle (the simulated board and the xsnap bridge stand in for them, and are frozen the same way).
 */
import { builtinGlobals, preloadModules, type PreloadModule } from './registry';

/** What freezeAsPreloaded() did, for the tests (a walk that found nothing would prove nothing). */
export interface PreloadReport {
  /** Modules that registered their bindings, and the bindings. */
  modules: number;
  bindings: number;
  /** Built-in objects and functions frozen. */
  intrinsics: number;
  /** Our functions (classes included) and their `.prototype` objects frozen. */
  functions: number;
  prototypes: number;
  /** Maps, Sets, WeakMaps and WeakSets made read-only. */
  collections: number;
  /** ArrayBuffers (behind typed arrays, DataViews or on their own) whose bytes are watched. */
  buffers: number;
  /** Module-level bindings holding a function, watched for reassignment. */
  functionBindings: number;
}

interface FunctionBinding {
  readonly module: PreloadModule;
  readonly index: number;
  readonly where: string;
  readonly value: unknown;
}

interface WatchedBuffer {
  readonly where: string;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
}

interface Frozen {
  readonly report: PreloadReport;
  readonly functionBindings: readonly FunctionBinding[];
  readonly buffers: readonly WatchedBuffer[];
}

// A plain object in a module const: still writable after a (real or simulated) preload.
const state: { frozen: Frozen | undefined } = { frozen: undefined };

const COLLECTION_MUTATORS: readonly [new () => object, string, readonly string[]][] = [
  [Map, 'Map', ['set', 'delete', 'clear']],
  [Set, 'Set', ['add', 'delete', 'clear']],
  [WeakMap, 'WeakMap', ['set', 'delete']],
  [WeakSet, 'WeakSet', ['add', 'delete']],
];

const TYPED_ARRAY_MUTATORS: readonly string[] = ['set', 'fill', 'copyWithin', 'reverse', 'sort'];

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/**
 * A property key or Map key for a message. Not String(key): terser turns String(x) into "" + x,
 * which throws for a symbol.
 */
function keyText(key: unknown): string {
  return typeof key === 'string' || typeof key === 'number' ? '' + key : typeof key === 'symbol' ? '[' + (key.description ?? '') + ']' : typeof key;
}

/** Pushes what an object refers to: its [[Prototype]] and every own property's value, getter and setter. */
function pushReferences(stack: [unknown, string][], object: object, where: string): void {
  stack.push([Object.getPrototypeOf(object), where + '.[[Prototype]]']);
  for (const key of Reflect.ownKeys(object)) {
    const d = Reflect.getOwnPropertyDescriptor(object, key);
    if (!d) continue;
    const at = where + '.' + keyText(key);
    if ('value' in d) stack.push([d.value, at]);
    if (d.get) stack.push([d.get, at + ' (get)']);
    if (d.set) stack.push([d.set, at + ' (set)']);
  }
}

/** Objects whose [[Prototype]] is an intrinsic that no global property leads to. */
function anonymousIntrinsicSamples(): object[] {
  return [
    function* () {},
    async function () {},
    async function* () {},
    [][Symbol.iterator](),
    new Map().entries(),
    new Set().values(),
    ''[Symbol.iterator](),
    /a/g[Symbol.matchAll](''),
  ];
}

/** A class's or function's `.prototype` (the linker freezes those with their function). */
function isPrototype(value: object): boolean {
  const d = Reflect.getOwnPropertyDescriptor(value, 'constructor');
  return !!d && typeof d.value === 'function' && Reflect.getOwnPropertyDescriptor(d.value, 'prototype')?.value === value;
}

/** Walks the built-ins as freezeIntrinsics does, marking them seen without freezing them. */
function markIntrinsics(seen: WeakSet<object>): void {
  const stack: unknown[] = [];
  for (const key of builtinGlobals) {
    const d = Reflect.getOwnPropertyDescriptor(globalThis, key);
    if (d) stack.push(d.value, d.get, d.set);
  }
  for (const sample of anonymousIntrinsicSamples()) stack.push(Object.getPrototypeOf(sample));
  while (stack.length > 0) {
    const value = stack.pop();
    if (!isObject(value) || value === globalThis || seen.has(value)) continue;
    seen.add(value);
    const refs: [unknown, string][] = [];
    pushReferences(refs, value, '');
    for (const r of refs) stack.push(r[0]);
  }
}

function freezeIntrinsics(seen: WeakSet<object>): number {
  const stack: [unknown, string][] = [];
  for (const key of builtinGlobals) {
    const d = Reflect.getOwnPropertyDescriptor(globalThis, key);
    if (d) stack.push([d.value, keyText(key)], [d.get, keyText(key)], [d.set, keyText(key)]);
  }
  for (const sample of anonymousIntrinsicSamples()) stack.push([Object.getPrototypeOf(sample), 'intrinsic']);
  let count = 0;
  for (let item = stack.pop(); item; item = stack.pop()) {
    const value = item[0];
    if (!isObject(value) || value === globalThis || seen.has(value)) continue;
    seen.add(value);
    Object.freeze(value);
    count++;
    pushReferences(stack, value, item[1]);
  }
  return count;
}

function readOnly(what: string, where: string): () => never {
  return () => {
    throw new TypeError(what + ': read-only after preload (' + where + ')');
  };
}

/** Shadows `methods` on `object` by own non-writable, non-configurable methods that throw. */
function shadow(object: object, kind: string, methods: readonly string[], where: string): void {
  for (const name of methods) Object.defineProperty(object, name, { value: readOnly(kind + '.prototype.' + name, where) });
}

function freezeModules(seen: WeakSet<object>, report: PreloadReport, functionBindings: FunctionBinding[], buffers: WatchedBuffer[]): void {
  const stack: [unknown, string][] = [];
  for (const module of preloadModules) {
    report.modules++;
    const values = module.values();
    for (let index = 0; index < module.names.length; index++) {
      const where = module.id + ': ' + module.names[index];
      const value = values[index];
      report.bindings++;
      if (typeof value === 'function') functionBindings.push({ module, index, where, value });
      stack.push([value, where]);
    }
  }
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [value, where] = item;
    if (!isObject(value) || seen.has(value)) continue;
    seen.add(value);
    if (typeof value === 'function') {
      Object.freeze(value);
      report.functions++;
      const prototype = Reflect.getOwnPropertyDescriptor(value, 'prototype')?.value as unknown;
      if (isObject(prototype) && !Object.isFrozen(prototype)) {
        Object.freeze(prototype);
        report.prototypes++;
      }
    } else if (value instanceof ArrayBuffer) {
      buffers.push({ where, buffer: value, bytes: new Uint8Array(value).slice() });
      report.buffers++;
      continue; // no properties of its own worth walking
    } else if (ArrayBuffer.isView(value)) {
      if (value instanceof DataView) {
        const setters = Object.getOwnPropertyNames(DataView.prototype).filter((name) => name.startsWith('set'));
        shadow(value, 'DataView', setters, where);
      } else {
        shadow(value, 'TypedArray', TYPED_ARRAY_MUTATORS, where);
      }
      stack.push([value.buffer, where + '.buffer']);
      continue; // own properties are its elements
    } else {
      const collection = COLLECTION_MUTATORS.find(([C]) => value instanceof C);
      if (collection) {
        shadow(value, collection[1], collection[2], where);
        Object.freeze(value);
        report.collections++;
        if (value instanceof Map) for (const [k, v] of value) stack.push([k, where + ' key'], [v, where + '.get(' + keyText(k) + ')']);
        else if (value instanceof Set) for (const v of value) stack.push([v, where + ' entry']);
      }
    }
    pushReferences(stack, value, where);
  }
}

/**
 * What the XS linker would report as "not frozen" for the modules whose id matches `modules`:
 * every ordinary object (plain objects, arrays, class instances) reachable from their top-level
 * bindings that is not frozen. On the device each one stays writable after the preload and costs a
 * RAM slot at run time. Functions and their prototypes are left out (the linker freezes those),
 * and so are Maps, Sets and typed arrays (read-only after a preload; freezeAsPreloaded handles
 * them). Call before freezeAsPreloaded(), which would hide them. Paths as xsl prints them,
 * `module: binding.path`.
 */
export function preloadAliases(modules: RegExp): string[] {
  return preloadAliasEntries(modules).map((entry) => entry.where);
}

/** One object preloadAliases reports, and the slots its alias takes: the instance and its own properties. */
export interface PreloadAlias {
  where: string;
  slots: number;
}

/**
 * preloadAliases with each object's size in slots: what the preloaded bundle can cost in RAM at
 * run time (an alias is made on an object's first write; this counts them all), everything else
 * being in flash.
 */
export function preloadAliasEntries(modules: RegExp): PreloadAlias[] {
  const out: PreloadAlias[] = [];
  const seen = new WeakSet<object>();
  markIntrinsics(seen); // the built-ins are the linker's, not ours
  const stack: [unknown, string][] = [];
  for (const module of preloadModules) {
    if (!modules.test(module.id)) continue;
    const values = module.values();
    for (let index = 0; index < module.names.length; index++) stack.push([values[index], module.id + ': ' + module.names[index]]);
  }
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [value, where] = item;
    if (!isObject(value) || seen.has(value) || value === globalThis) continue;
    seen.add(value);
    // xsl does not count these: typed arrays, buffers and collections become read-only, a RegExp's
    // lastIndex is the engine's (a preloaded /re/ is not reported by Moddable 5.6.0's xsl).
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof RegExp || COLLECTION_MUTATORS.some(([C]) => value instanceof C)) continue;
    if (typeof value !== 'function' && !Object.isFrozen(value) && !isPrototype(value)) out.push({ where, slots: 1 + Reflect.ownKeys(value).length });
    // Below a function: its own properties (statics) and its prototype's.
    pushReferences(stack, value, where);
    if (typeof value === 'function') {
      const prototype = Reflect.getOwnPropertyDescriptor(value, 'prototype')?.value as unknown;
      if (isObject(prototype)) seen.add(prototype), pushReferences(stack, prototype, where + '.prototype');
    }
  }
  return out.sort((a, b) => (a.where < b.where ? -1 : a.where > b.where ? 1 : 0));
}

/**
 * Freezes the built-ins and everything our modules hold, as described above. Once per worker:
 * the firmware must not have started (its module bodies ran, nothing else).
 */
export function freezeAsPreloaded(): PreloadReport {
  if (state.frozen) throw new Error('already frozen');
  const seen = new WeakSet<object>();
  const report: PreloadReport = { modules: 0, bindings: 0, intrinsics: 0, functions: 0, prototypes: 0, collections: 0, buffers: 0, functionBindings: 0 };
  report.intrinsics = freezeIntrinsics(seen);
  const functionBindings: FunctionBinding[] = [];
  const buffers: WatchedBuffer[] = [];
  freezeModules(seen, report, functionBindings, buffers);
  report.functionBindings = functionBindings.length;
  state.frozen = { report, functionBindings, buffers };
  return report;
}

export function preloadReport(): PreloadReport | undefined {
  return state.frozen?.report;
}

/** The writes that would have thrown on the device but cannot be made to throw here (see above). */
export function preloadViolations(): string[] {
  const frozen = state.frozen;
  if (!frozen) throw new Error('not frozen yet');
  const out: string[] = [];
  const now = new Map<PreloadModule, readonly unknown[]>();
  for (const b of frozen.functionBindings) {
    let values = now.get(b.module);
    if (!values) now.set(b.module, (values = b.module.values()));
    if (values[b.index] !== b.value) out.push(b.where + ': a module binding holding a function was reassigned');
  }
  for (const w of frozen.buffers) {
    const bytes = new Uint8Array(w.buffer);
    let changed = bytes.length !== w.bytes.length ? 0 : -1;
    for (let i = 0; changed < 0 && i < bytes.length; i++) if (bytes[i] !== w.bytes[i]) changed = i;
    if (changed >= 0) out.push(w.where + ': preloaded bytes written (first at index ' + changed + ')');
  }
  return out;
}

/** Throws a TypeError listing preloadViolations(), if any. */
export function assertPreloadUnchanged(): void {
  const violations = preloadViolations();
  if (violations.length > 0) throw new TypeError('preload violations: ' + violations.join('; '));
}

/** The current value of module `id`'s top-level binding `name` (for the tests' negative controls). */
export function preloadedBinding(id: string, name: string): unknown {
  for (const module of preloadModules) {
    const index = module.id === id ? module.names.indexOf(name) : -1;
    if (index >= 0) return module.values()[index];
  }
  throw new Error('no top-level binding ' + name + ' in ' + id);
}
