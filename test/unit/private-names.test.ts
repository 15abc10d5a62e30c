/**
 * The minified bundles mangle every property name ending in `_` (TERSER_OPTIONS in
 * rollup.config.mjs), the convention for private class members. Safe only while each such name is
 * a member declared `private` in the bundled code, never a public member, an option, a JSON key or
 * a string: this checks the sources the bundles are built from.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const DIRS = ['src', 'hal', 'targets/esp32', 'targets/xsnap/bridge', 'targets/xsnap/apps', 'targets/xsnap/firmware-entry.ts'];

function sources(path: string, out: string[] = []): string[] {
  if (!statSync(path).isDirectory()) {
    if (path.endsWith('.ts')) out.push(path);
  } else for (const name of readdirSync(path)) sources(join(path, name), out);
  return out;
}

describe('private member names (mangled in the minified bundles)', () => {
  it('every name ending in _ is a private member, never a public one, a key or a string', () => {
    const files = DIRS.flatMap((d) => sources(join(ROOT, d)));
    const declared = new Set<string>();
    const texts = files.map((f) => [f, readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')] as const);
    for (const [, text] of texts) for (const m of text.matchAll(/\bprivate\s+(?:static\s+)?(?:readonly\s+|async\s+)?(?:get\s+|set\s+)?([A-Za-z]\w*_)\b/g)) declared.add(m[1]);
    expect(declared.size).toBeGreaterThan(100);
    const offenders: string[] = [];
    for (const [file, text] of texts) {
      // Property accesses and declarations (a.b_, b_: in types and literals, b_( in classes) and strings.
      for (const m of text.matchAll(/(?:\.|\b)([A-Za-z]\w*_)(?=\s*[:(=;?!.,)\]}]|\s*$)|['"`]([A-Za-z]\w*_)['"`]/gm)) {
        const name = m[1] ?? m[2];
        if (!declared.has(name)) offenders.push(file.slice(ROOT.length + 1) + ': ' + name);
      }
    }
    expect(offenders, 'names ending in _ that are not private members: rename them').toEqual([]);
  });
});
