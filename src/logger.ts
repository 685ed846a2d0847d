/** The server log: one line per event on stderr. Never pass secrets here (tokens, keys, bodies). */
import { typedToken } from './framework/typed-token';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** `prefix` starts every message (a node's worker: `worker 2: `). */
export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n'), prefix = ''): Logger {
  const at = (lvl: LogLevel) => (message: string) => {
    if (ORDER[lvl] >= ORDER[level]) write(`${new Date().toISOString()} [${lvl.toUpperCase()}] ${prefix}${message}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The injection token of the server's Logger (provided by ConfigModule). */
export const LOGGER = typedToken<Logger>('Logger');
