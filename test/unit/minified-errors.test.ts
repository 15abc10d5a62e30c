/**
 * The minified bundles go through terser with TERSER_OPTIONS (rollup.config.mjs). Error reporting
 * must survive that: describeError() stringifies whatever was thrown, and terser's `unsafe` option
 * would rewrite its `String(error)` into `"" + error`, which throws for a Symbol. This runs the
 * minified describeError itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { minify } from 'terser';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript config without types
import { TERSER_OPTIONS } from '../../rollup.config.mjs';

const ROOT = join(__dirname, '../..');

async function minifiedErrorsModule(): Promise<{ describeError: (e: unknown) => string; TbxsError: new (c: string, m: string, n: string) => Error }> {
  const ts = readFileSync(join(ROOT, 'hal/types/tbxs-error.ts'), 'utf8');
  const js = (await transform(ts, { loader: 'ts', format: 'esm', target: 'es2022' })).code;
  const min = (await minify(js, TERSER_OPTIONS)).code as string;
  return import('data:text/javascript;base64,' + Buffer.from(min).toString('base64'));
}

describe('error reporting in the minified bundle', () => {
  it('describeError handles any thrown value, a Symbol included', async () => {
    const { describeError, TbxsError } = await minifiedErrorsModule();
    expect(describeError(Symbol('boom'))).toBe('Symbol(boom)');
    expect(describeError(undefined)).toBe('undefined');
    expect(describeError(Object.create(null))).toBe('[object Object]');
    expect(describeError(new Error('plain'))).toBe('plain');
    expect(describeError(new TbxsError('code', 'typed', 'TbError'))).toBe('TbError code: typed');
  });
});
