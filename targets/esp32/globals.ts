/**
 * Installs Moddable's TextEncoder/TextDecoder (modules text/encoder, text/decoder) as globals,
 * where src/platform/utf8.ts and the mqtt-packet shims look for them. Runs at module top level,
 * i.e. during preload at build time, like Moddable's own examples that set `globalThis.device` in
 * a preloaded module: the globals live in flash and cost no RAM. Only classes are referenced,
 * nothing native is called. main() checks again at run time (installTextGlobals) in case this
 * module was not preloaded.
 */
import TextDecoder from 'text/decoder';
import TextEncoder from 'text/encoder';

interface TextGlobals {
  TextEncoder?: unknown;
  TextDecoder?: unknown;
}

export function installTextGlobals(): void {
  const g = globalThis as TextGlobals;
  if (typeof g.TextEncoder !== 'function') g.TextEncoder = TextEncoder;
  if (typeof g.TextDecoder !== 'function') g.TextDecoder = TextDecoder;
}

installTextGlobals();
