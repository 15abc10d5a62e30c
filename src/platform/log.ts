export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A Log that drops everything. */
export const silentLog: Log = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Prefixes every line with a component name, e.g. "mqtt: connected". */
export class PrefixLog implements Log {
  constructor(
    private readonly target: Log,
    private readonly prefix: string,
  ) {}

  debug(message: string): void {
    this.target.debug(this.prefix + ': ' + message);
  }
  info(message: string): void {
    this.target.info(this.prefix + ': ' + message);
  }
  warn(message: string): void {
    this.target.warn(this.prefix + ': ' + message);
  }
  error(message: string): void {
    this.target.error(this.prefix + ': ' + message);
  }
}
