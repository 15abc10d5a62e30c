/**
 * The layers of DESIGN.md, held on the sources: dependencies point down only, and the portable
 * code names no Node, Moddable or ECMA-419 module. Read from the import statements of every file.
 *
 *   targets/*  >  src/app  >  src/thingsboard  >  src/mqtt  >  src/platform  >  hal/*
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (/\.ts$/.test(name) && !/\.d\.ts$/.test(name)) out.push(path);
  }
  return out;
}

/** Every module a file imports or re-exports: repository paths for relative ones, else the bare id. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  const pattern = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const spec = m[1] ?? m[2] ?? m[3];
    out.push(spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)) : spec);
  }
  return out;
}

/** The layer of a repository path, higher above lower; undefined outside src/ and hal/. */
function layer(path: string): number | undefined {
  if (path.startsWith('hal/')) return 0;
  if (path.startsWith('src/platform/')) return 1;
  if (path.startsWith('src/mqtt/')) return 2;
  if (path.startsWith('src/thingsboard/')) return 3;
  if (path.startsWith('src/app/')) return 4;
  if (path.startsWith('targets/')) return 5;
  return undefined;
}

const PORTABLE = [...sources('src'), ...sources('hal').filter((f) => !f.startsWith('hal/moddable/'))];
const MODDABLE_IDS = /^(embedded:|mc\/|timer$|time$|preference$|wifi$|net$|sntp$|dns$|socket$|Resource$|ota$|crypt$|text\/(en|de)coder$)/;

describe('layers (DESIGN.md)', () => {
  it('src/ and hal/ import nothing above themselves', () => {
    const upward: string[] = [];
    for (const file of [...sources('src'), ...sources('hal')]) {
      const own = layer(file) as number;
      for (const target of importsOf(file)) {
        const theirs = layer(target);
        if (theirs !== undefined && theirs > own) upward.push(file + ' -> ' + target);
      }
    }
    expect(upward).toEqual([]);
  });

  it('portable code names no Node, Moddable or ECMA-419 module; only hal/moddable names embedded:io', () => {
    const found: string[] = [];
    for (const file of PORTABLE) {
      for (const target of importsOf(file)) if (target.startsWith('node:') || MODDABLE_IDS.test(target)) found.push(file + ' -> ' + target);
    }
    expect(found).toEqual([]);
    expect(sources('hal/moddable').some((f) => importsOf(f).some((t) => t.startsWith('embedded:io')))).toBe(true);
  });

  it('one src/ file imports mqtt-packet', () => {
    const users = sources('src').filter((f) => importsOf(f).some((t) => t === 'mqtt-packet' || t.startsWith('mqtt-packet/')));
    expect(users).toEqual(['src/mqtt/mqtt-packet-codec.ts']);
  });

  it('the import reader sees relative, bare and type-only imports (negative control)', () => {
    const seen = importsOf('src/mqtt/session.ts');
    expect(seen).toContain('src/platform/clock');
    expect(seen).toContain('src/mqtt/codec-types');
    expect(importsOf('src/mqtt/mqtt-packet-codec.ts')).toContain('mqtt-packet');
  });
});
