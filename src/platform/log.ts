export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A Log that drops everything. */
export const silentLog: Log = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** Prefixes every line with a component name, e.g. "mqtt: connected". */
export class PrefixLog implements Log {
  private readonly target_: Log;
  private readonly prefix_: string;

  /** A PrefixLog over a PrefixLog joins the prefixes ("a: b: "): one call per line, not one per level. */
  constructor(target: Log, prefix: string) {
    if (target instanceof PrefixLog) {
      this.target_ = target.target_;
      this.prefix_ = target.prefix_ + ': ' + prefix;
    } else {
      this.target_ = target;
      this.prefix_ = prefix;
    }
  }

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
