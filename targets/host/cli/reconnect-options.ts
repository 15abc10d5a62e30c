import { RECONNECT_DEFAULTS, type BackoffOptions } from '../../../src/mqtt/backoff';
import { UsageError } from './args';

const MAX_MS = 86_400_000;

export const RECONNECT_FLAGS = Object.freeze({ 'reconnect-min-ms': 'string', 'reconnect-max-ms': 'string', 'reconnect-jitter': 'string' } as const);

export const RECONNECT_USAGE = '[--reconnect-min-ms MS] [--reconnect-max-ms MS] [--reconnect-jitter 0..1]';

function milliseconds(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_MS) throw new UsageError('--' + name + ' must be a whole number of ms, 1..' + MAX_MS + ', got "' + value + '"');
  return n;
}

/**
 * The reconnect backoff from --reconnect-min-ms (first delay), --reconnect-max-ms (cap) and
 * --reconnect-jitter (random share of each delay), or undefined when none is given: the session's
 * defaults (1 s doubling to 60 s, jitter 0.5) then hold.
 */
export function reconnectFromFlags(f: { 'reconnect-min-ms'?: string; 'reconnect-max-ms'?: string; 'reconnect-jitter'?: string }): Partial<BackoffOptions> | undefined {
  const out: Partial<BackoffOptions> = {};
  if (f['reconnect-min-ms'] !== undefined) out.initialMs = milliseconds('reconnect-min-ms', f['reconnect-min-ms']);
  if (f['reconnect-max-ms'] !== undefined) out.maxMs = milliseconds('reconnect-max-ms', f['reconnect-max-ms']);
  if (f['reconnect-jitter'] !== undefined) {
    const j = Number(f['reconnect-jitter']);
    if (!/^\d*\.?\d+$/.test(f['reconnect-jitter']) || !(j >= 0 && j <= 1)) throw new UsageError('--reconnect-jitter must be a number 0..1, got "' + f['reconnect-jitter'] + '"');
    out.jitter = j;
  }
  if (Object.keys(out).length === 0) return undefined;
  const min = out.initialMs ?? RECONNECT_DEFAULTS.initialMs;
  const max = out.maxMs ?? RECONNECT_DEFAULTS.maxMs;
  if (min > max) {
    throw new UsageError('--reconnect-min-ms (' + min + ') must not be over --reconnect-max-ms (' + max + (out.maxMs === undefined ? ', the default' : '') + ')');
  }
  return out;
}
