/**
 * The firmware scenario (firmware-scenario.ts) on XS after a simulated Moddable preload: the
 * bundle is loaded, then the built-ins and everything our modules hold at top level are frozen
 * the way the XS linker leaves a preloaded `main` (targets/xsnap/preload/freeze.ts says what is
 * and is not simulated), then the firmware starts. A write that would fail on the device fails
 * here, and after every test the writes that cannot fail at once (a module binding holding a
 * function reassigned, preloaded bytes written) are checked.
 *
 * The negative controls show the freeze bites, so that a passing scenario means something: each
 * write DESIGN.md lists as failing after preload is made after the freeze and must throw a TypeError
 * (or be reported), while what the device copies to RAM on first write must still work.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildXsFirmware } from '../../targets/xsnap/bundle';
import type { PreloadReport } from '../../targets/xsnap/preload/freeze';
import { XsWorker } from '../../targets/xsnap/worker';
import { generate } from 'mqtt-packet';
import { codecSample } from '../../targets/xsnap/codec-sample';
import { firmwareScenario, type FirmwareScenarioContext } from './firmware-scenario';

const ERRORS = 'hal/types/tbxs-error.ts';
const FIXTURES = "tbxsPreload.binding('targets/xsnap/preload-entry.ts', 'FIXTURES')";

/** Writes that fail after a real preload (DESIGN.md), as strict code run after the freeze. */
const FAILS_AFTER_PRELOAD: [string, string][] = [
  ['a static field on a class of ours', `tbxsPreload.binding('${ERRORS}', 'TbxsError').count = 1`],
  ['a property on a function of ours', `tbxsPreload.binding('${ERRORS}', 'describeError').cache = {}`],
  ['adding to a prototype of ours', `tbxsPreload.binding('${ERRORS}', 'TbxsError').prototype.extra = 1`],
  ['replacing a method of ours', "tbxsPreload.binding('targets/xsnap/bridge/xs-platform.ts', 'XsClock').prototype.now = () => 0"],
  ["assigning an Error's name", "new Error('x').name = 'Other'"],
  ['adding to a built-in prototype', 'Array.prototype.last = function () { return this[this.length - 1]; }'],
  ['assigning over a built-in method, in a class made at run time', "class Late {} Late.prototype.toString = () => 'late'"],
  ['writing to a preloaded Map', `${FIXTURES}.map.set(2, 'two')`],
  ['clearing a preloaded Map', `${FIXTURES}.map.clear()`],
  ['adding to a preloaded Set', `${FIXTURES}.set.add(2)`],
  ['filling a preloaded typed array', `${FIXTURES}.bytes.fill(0)`],
];

function controls(ctx: FirmwareScenarioContext): void {
  const evaluate = (code: string) => ctx.device()!.worker.evaluate("'use strict';\n" + code);

  afterEach(async () => {
    await ctx.device()?.worker.evaluate('tbxsPreload.assertUnchanged()');
  });

  it('froze the built-ins and the functions, prototypes and collections of every module', async () => {
    const report = JSON.parse(Buffer.from((await evaluate('tbxsPreload.report()')).reply).toString('utf8')) as PreloadReport;
    expect(report.intrinsics).toBeGreaterThan(300);
    expect(report.modules).toBeGreaterThan(40);
    expect(report.functions).toBeGreaterThan(200);
    expect(report.prototypes).toBeGreaterThan(50);
    expect(report.collections).toBeGreaterThanOrEqual(2); // the fixtures' Map and Set at least
    // Intrinsics no global leads to, and the global object left extensible (Moddable's main may add globals).
    await evaluate(
      'const proto = Object.getPrototypeOf;\n' +
        'const hidden = [proto(Uint8Array.prototype), proto([][Symbol.iterator]()), proto(proto([][Symbol.iterator]())),\n' +
        '  proto(function* () {}).prototype, proto(async function () {}), proto(new Map().entries())];\n' +
        "if (!hidden.every(Object.isFrozen)) throw new Error('an anonymous intrinsic is not frozen');\n" +
        "if (Object.isFrozen(globalThis) || !Object.isFrozen(Object.prototype)) throw new Error('global object');",
    );
    for (const [id, name] of [
      ['src/app/firmware.ts', 'Firmware'],
      [ERRORS, 'TbxsError'],
    ]) {
      await evaluate(
        `const F = tbxsPreload.binding('${id}', '${name}');\n` +
          `if (!Object.isFrozen(F) || !Object.isFrozen(F.prototype)) throw new Error('${name} is not frozen');`,
      );
    }
  });

  it.each(FAILS_AFTER_PRELOAD)('the freeze bites: %s throws a TypeError', async (_, code) => {
    await expect(evaluate(code)).rejects.toThrow(/^TypeError: /);
  });

  it('reports a reassigned module let holding a function, and written preloaded bytes', async () => {
    await expect(evaluate('tbxsPreload.setFixtureFunction(() => 1); tbxsPreload.assertUnchanged();')).rejects.toThrow(
      /^TypeError: preload violations: targets\/xsnap\/preload-entry\.ts: fixtureFunction: /,
    );
    await evaluate('tbxsPreload.setFixtureFunction(); tbxsPreload.assertUnchanged();');
    await expect(evaluate(`${FIXTURES}.bytes[0] = 9; tbxsPreload.assertUnchanged();`)).rejects.toThrow(
      /^TypeError: preload violations: targets\/xsnap\/preload-entry\.ts: FIXTURES\.bytes\.buffer: preloaded bytes written/,
    );
    await evaluate(`${FIXTURES}.bytes[0] = 1; tbxsPreload.assertUnchanged();`);
  });

  it('leaves writable what the device copies to RAM: module objects and arrays, run-time objects', async () => {
    await evaluate(
      `const f = ${FIXTURES};\n` +
        'f.object.n++; f.list.push(1);\n' +
        "if (f.map.get(1) !== 'one' || !f.set.has(1) || f.bytes[2] !== 3) throw new Error('reads fail');\n" +
        'new Map().set(1, 1); new Uint8Array(2).fill(1);\n' +
        'class Late { static n = 0; } Late.n = 1; Late.prototype.extra = 1;',
    );
  });
}

// The readable bundle and the minified one (as dist/esp32/tbxs.min.js: terser rewrites code, and
// the rewrite must not break the rules either). Shorter than xs-firmware.test.ts: no timing of the
// new telemetry period, a shorter outage (one 700 ms cycle at least).
describe.each([
  { bundle: 'readable', minify: false },
  { bundle: 'minified', minify: true },
])('the firmware on XS after a simulated Moddable preload ($bundle bundle)', ({ minify }) => {
  firmwareScenario({ minify, preload: true, checkPeriod: false, offlineMs: 1000, more: controls });
});

/**
 * The linker's other check: a preloaded object our modules leave writable is an alias, RAM at run
 * time on the device (xsl: "not frozen"). The ESP32 and simulator firmware's own modules are loaded
 * on XS with Moddable's modules stubbed (bundle entry 'esp32-preload'), never started, and walked
 * from every top-level binding, as xsl walks a preloaded `main`.
 */
describe('preloaded constant tables (xsl "not frozen")', () => {
  it.each([false, true])('the ESP32 firmware leaves none writable (minified: %s)', async (minify) => {
    const worker = await XsWorker.start({ stdout: 'ignore' });
    try {
      await worker.evaluate(await buildXsFirmware('esp32-preload', { minify }));
      const found = JSON.parse(Buffer.from((await worker.evaluate('tbxsPreload.aliases()')).reply).toString('utf8')) as { entries: string[]; aliases: string[] };
      expect(found.entries).toEqual(['function', 'function']); // both mains were loaded and walked
      expect(found.aliases).toEqual([]);
    } finally {
      await worker.close();
    }
  }, 60_000);

  it("the ESP32 bundle's cut-down mqtt-packet encodes and parses on XS what Node's full one does", async () => {
    const frames = [
      generate({ cmd: 'connack', returnCode: 0, sessionPresent: false } as never),
      generate({ cmd: 'suback', messageId: 7, granted: [1, 128] } as never),
      generate({ cmd: 'publish', topic: 'v1/devices/me/rpc/request/42', payload: '{"method":"getGpioStatus","params":{}}', qos: 1, messageId: 300 } as never),
      generate({ cmd: 'publish', topic: 'v1/devices/me/attributes/é', payload: Buffer.alloc(300, 0x61), qos: 0 } as never),
      generate({ cmd: 'puback', messageId: 9 } as never),
      generate({ cmd: 'unsuback', messageId: 8 } as never),
      generate({ cmd: 'pingresp' } as never),
      Buffer.from([0x32, 5, 0, 1, 0x61, 0, 0]), // QoS 1 with packet id 0
      Buffer.from([0x30, 4, 0, 3, 0x61, 0x2b]), // a wildcard in a topic name
    ].map((f) => Array.from(f));
    const node = codecSample(frames);
    expect(node.decoded.slice(0, 4).map((d) => d[0])).toEqual(['connack', 'suback', 'publish', 'publish']);
    const worker = await XsWorker.start({ stdout: 'ignore' });
    try {
      await worker.evaluate(await buildXsFirmware('esp32-preload'));
      const xs = JSON.parse(Buffer.from((await worker.evaluate(`tbxsPreload.codec(${JSON.stringify(JSON.stringify(frames))})`)).reply).toString('utf8')) as unknown;
      expect(xs).toEqual(node);
    } finally {
      await worker.close();
    }
  }, 60_000);

  it('negative control: the walk finds the writable fixtures of the preload test entry', async () => {
    const worker = await XsWorker.start({ stdout: 'ignore' });
    try {
      await worker.evaluate(await buildXsFirmware('preload'));
      const found = JSON.parse(Buffer.from((await worker.evaluate("tbxsPreload.aliases('^targets/xsnap/preload-entry')")).reply).toString('utf8')) as string[];
      expect(found).toEqual(expect.arrayContaining(['targets/xsnap/preload-entry.ts: FIXTURES', 'targets/xsnap/preload-entry.ts: FIXTURES.list', 'targets/xsnap/preload-entry.ts: FIXTURES.object']));
      expect(found.some((f) => /FIXTURES\.(map|set|bytes)$/.test(f))).toBe(false); // collections and bytes: read-only, not aliases
      // The slots each alias would take (bench:xs's load_heap_slots_preloaded adds them up):
      // the instance and its own properties; an array's own keys are its elements and length.
      const entries = JSON.parse(Buffer.from((await worker.evaluate("tbxsPreload.aliasEntries('^targets/xsnap/preload-entry')")).reply).toString('utf8')) as { where: string; slots: number }[];
      const slots = Object.fromEntries(entries.map((e) => [e.where.replace('targets/xsnap/preload-entry.ts: ', ''), e.slots]));
      expect(slots).toMatchObject({ FIXTURES: 6, 'FIXTURES.object': 2, 'FIXTURES.list': 3 });
    } finally {
      await worker.close();
    }
  }, 60_000);
});
