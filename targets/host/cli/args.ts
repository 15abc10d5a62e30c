/** A command-line mistake: printed as one line, exit code 2. */
export class UsageError extends Error {}

export type FlagKind = 'string' | 'port' | 'count' | 'boolean' | 'list';

export type FlagSpec = Record<string, FlagKind>;

export type ParsedFlags<S extends FlagSpec> = {
  [K in keyof S]?: S[K] extends 'boolean' ? boolean : S[K] extends 'port' | 'count' ? number : S[K] extends 'list' ? string[] : string;
};

/**
 * Parses `--name value` and `--flag` arguments against a spec. Unknown flags, missing values and
 * bad numbers are UsageErrors naming the flag.
 */
export function parseFlags<S extends FlagSpec>(args: string[], spec: S): ParsedFlags<S> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new UsageError('unexpected argument "' + arg + '"');
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const kind = spec[name];
    if (!kind) throw new UsageError('unknown option --' + name);
    if (kind === 'boolean') {
      if (eq > 0) throw new UsageError('--' + name + ' takes no value');
      out[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = args[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError('--' + name + ' needs a value');
    }
    switch (kind) {
      case 'port': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n > 65535) throw new UsageError('--' + name + ' must be a port number 0..65535, got "' + value + '"');
        out[name] = n;
        break;
      }
      case 'count': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > 100_000) throw new UsageError('--' + name + ' must be a whole number 1..100000, got "' + value + '"');
        out[name] = n;
        break;
      }
      case 'list':
        ((out[name] as string[] | undefined) ?? (out[name] = [])) && (out[name] as string[]).push(value);
        break;
      default:
        if (value.length === 0) throw new UsageError('--' + name + ' must not be empty');
        out[name] = value;
    }
  }
  return out as ParsedFlags<S>;
}

/** Splits NAME:TOKEN; the token defaults to the name. */
export function nameAndToken(value: string, flag: string): { name: string; token: string } {
  const i = value.indexOf(':');
  const name = i < 0 ? value : value.slice(0, i);
  const token = i < 0 ? value : value.slice(i + 1);
  if (!name || !token) throw new UsageError(flag + ' must look like NAME:TOKEN, got "' + value + '"');
  return { name, token };
}
