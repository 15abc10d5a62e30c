/**
 * What Moddable's linker (xsl) reports as "no const" stays at zero for the modules we ship
 * (src, hal, targets/esp32): no module-level let/var, and no closure made at preload time over a
 * parameter or let (test/support/preload-closures.ts). Its twin for "not frozen" runs on XS:
 * test/xs/xs-preload.test.ts ("leaves no writable constant table").
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPreloadClosures } from '../support/preload-closures';

const ROOT = join(__dirname, '../..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(join(ROOT, path));
  }
  return out;
}

describe('preloaded closures (xsl "no const")', () => {
  it('none in the shipped modules', () => {
    const files = [...tsFiles('src'), ...tsFiles('hal'), ...tsFiles('targets/esp32')];
    expect(files.length).toBeGreaterThan(60);
    const findings = files.flatMap((f) => checkPreloadClosures(f, ROOT));
    expect(findings.map((f) => f.file + ':' + f.line + ' ' + f.message)).toEqual([]);
  });

  it('negative controls: a module let, a top-level call making a closure over a parameter or a let, an IIFE', () => {
    const file = join(ROOT, 'src/fixture.ts');
    const check = (text: string) => checkPreloadClosures(file, ROOT, text).map((f) => f.message);
    expect(check('let level = 1;\nexport function f() { return level; }')[0]).toMatch(/module-level let\/var level/);
    // What xsl reported on start.ts: a closure over the parameter `level`, made at preload.
    expect(check("const trace = (s: string) => s;\nconst traceLevel = (level: string) => (m: string) => trace(level + m);\nexport const log = Object.freeze({ debug: traceLevel('debug') });")[0]).toMatch(
      /traceLevel\(\) makes a closure over its parameter or let `level`/,
    );
    expect(check('function counter() { let n = 0; return () => ++n; }\nexport const next = counter();')[0]).toMatch(/counter\(\) .* `n`/);
    expect(check('export const get = (() => { let x = 1; return () => x; })();')[0]).toMatch(/an IIFE .* `x`/);
    // Fine: the closure captures a const copy; the parameter is shadowed; a closure made at run time.
    expect(check("const traceLevel = (level: string) => { const prefix = level; return (m: string) => prefix + m; };\nexport const d = traceLevel('d');")).toEqual([]);
    expect(check('const make = (x: number) => (x: number) => x;\nexport const f = make(1);')).toEqual([]);
    expect(check('const make = (x: number) => () => x;\nexport function later() { return make(1); }')).toEqual([]);
  });
});
