#!/usr/bin/env node
/**
 * Builds tbxs's XS host (stack-host.c): links our one C file with the objects @agoric/xsnap's
 * install compiled for its xsnap-worker (release build), so the engine is byte for byte the one
 * the other XS tests use, with a device-sized stack on request. About a second: only our file is
 * compiled. Run by npm's postinstall; worker.ts asks for the result at
 *   node_modules/.cache/tbxs/xsnap-stack-worker
 * and says to run this script when it is missing.
 *
 *   node targets/xsnap/native/build.mjs [--check] [--if-possible]
 *     --check        only report whether it is current
 *     --if-possible  (npm's postinstall) a failure is a warning, not a failed install: the XS tests
 *                    then fail with the reason, and `node targets/xsnap/native/build.mjs` retries
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
export const STACK_HOST_PATH = join(root, 'node_modules/.cache/tbxs/xsnap-stack-worker');

function fail(message) {
  throw new Error('tbxs XS host: ' + message);
}

function xsnapRoot() {
  try {
    return dirname(createRequire(import.meta.url).resolve('@agoric/xsnap/package.json'));
  } catch {
    return fail('@agoric/xsnap is not installed: run npm install');
  }
}

/** The -D/-U options xsnap-worker.mk compiles XS with: the struct layouts our file reads depend on them. */
function xsnapDefines(makefile) {
  const text = readFileSync(makefile, 'utf8');
  const block = text.slice(text.indexOf('C_OPTIONS = \\'), text.indexOf('C_OPTIONS += \\'));
  const defines = block.match(/-[DU]mx\w+(=\S+)?|-DINCLUDE_XSPLATFORM|-DXSPLATFORM=\S+/g) ?? [];
  if (!defines.includes('-DINCLUDE_XSPLATFORM') || !defines.some((d) => d.startsWith('-DmxMetering'))) {
    fail('cannot read the compiler options from ' + makefile + ' (a new @agoric/xsnap?)');
  }
  // The makefile's -DXSPLATFORM=\"xsnapPlatform.h\" is written for the shell.
  return defines.map((d) => d.replace(/\\"/g, '"'));
}

export function buildStackHost({ check = false } = {}) {
  const xsnap = xsnapRoot();
  // The link uses GNU ld's --wrap: Linux (CI and the Debian machines this project runs on).
  const platform = process.platform === 'linux' ? 'lin' : fail('the XS host is built on Linux only (GNU ld --wrap), not ' + process.platform);
  const objects = join(xsnap, 'xsnap-native/xsnap/build/tmp', platform, 'release/xsnap-worker');
  if (!existsSync(join(objects, 'xsnap-worker.o'))) {
    fail(objects + ' has no xsnap-worker.o: @agoric/xsnap did not build (npm rebuild @agoric/xsnap; needs make and a C compiler)');
  }
  const source = join(here, 'stack-host.c');
  const inputs = readdirSync(objects).filter((f) => f.endsWith('.o')).map((f) => join(objects, f));
  const newestInput = Math.max(statSync(source).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs, ...inputs.map((f) => statSync(f).mtimeMs));
  const current = existsSync(STACK_HOST_PATH) && statSync(STACK_HOST_PATH).mtimeMs >= newestInput;
  if (check || current) return { path: STACK_HOST_PATH, current };

  const xs = join(xsnap, 'moddable/xs');
  const defines = xsnapDefines(join(xsnap, 'xsnap-native/xsnap/makefiles', platform, 'xsnap-worker.mk'));
  const out = dirname(STACK_HOST_PATH);
  mkdirSync(out, { recursive: true });
  const object = join(out, 'stack-host.' + process.pid + '.o');
  const binary = STACK_HOST_PATH + '.' + process.pid + '.tmp';
  const cc = process.env.CC || 'cc';
  const includes = ['includes', 'platforms', 'sources'].map((d) => '-I' + join(xs, d));
  includes.push('-I' + join(xsnap, 'xsnap-native/xsnap/sources'));
  try {
    execFileSync(cc, ['-c', '-O2', '-fno-common', ...defines, ...includes, source, '-o', object], { stdio: 'inherit' });
    const wraps = ['fxCreateMachine', 'fxDeleteMachine', 'fxAbort', 'fxSetCurrentMeter'].map((f) => '-Wl,--wrap=' + f);
    execFileSync(cc, ['-rdynamic', ...wraps, ...inputs, object, '-ldl', '-lm', '-lpthread', '-o', binary], { stdio: 'inherit' });
  } catch (error) {
    fail('compiling ' + source + ' failed (' + error.message + '); a C compiler (gcc) is needed');
  }
  renameSync(binary, STACK_HOST_PATH); // atomic: test processes may look for it meanwhile
  rmSync(object, { force: true });
  return { path: STACK_HOST_PATH, current: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  try {
    const result = buildStackHost({ check });
    process.stdout.write((check && !result.current ? 'stale or missing: ' : 'tbxs XS host: ') + result.path + '\n');
    if (check && !result.current) process.exit(1);
  } catch (error) {
    process.stderr.write(error.message + '\n');
    if (!process.argv.includes('--if-possible')) process.exit(1);
  }
}
