import type { Log, LogLevel } from '../../../src/platform/log';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A Log to stderr with a time stamp, dropping lines below `level`. */
export function consoleLog(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Log {
  const at = (l: LogLevel) => (message: string) => {
    if (ORDER[l] < ORDER[level]) return;
    write(new Date().toISOString().slice(11, 23) + ' ' + l.padEnd(5) + ' ' + message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
