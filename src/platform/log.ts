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
    private readonly target_: Log,
    private readonly prefix_: string,
  ) {}

  debug(message: string): void {
    this.target_.debug(this.prefix_ + ': ' + message);
  }
  info(message: string): void {
    this.target_.info(this.prefix_ + ': ' + message);
  }
  warn(message: string): void {
    this.target_.warn(this.prefix_ + ': ' + message);
  }
  error(message: string): void {
    this.target_.error(this.prefix_ + ': ' + message);
  }
}
