/**
 * A small structured logger: one JSON object per line on stderr (what log pipelines ingest), or a
 * readable line when stderr is a terminal. Fields are flat key/values; errors are rendered with their
 * message, retriable flag and stack (debug level only).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; default process.stderr. */
  write?: (line: string) => void;
  pretty?: boolean;
}

export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((l: string) => process.stderr.write(l + '\n'));
  const pretty = opts.pretty ?? (opts.write === undefined && process.stderr.isTTY === true);
  const log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const all = { ...base, ...fields };
    for (const [k, v] of Object.entries(all)) if (v instanceof Error) all[k] = renderError(v, level === 'debug');
    if (pretty) {
      const kv = Object.entries(all).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
      write(`${new Date().toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${kv ? '  ' + kv : ''}`);
    } else {
      write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...all }));
    }
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (f) => createLogger({ ...opts, write, pretty }, { ...base, ...f }),
  };
}

function renderError(e: Error, withStack: boolean): Record<string, unknown> {
  const r: Record<string, unknown> = { name: e.name, message: e.message };
  if ('retriable' in e) r.retriable = (e as { retriable: unknown }).retriable;
  if (withStack) r.stack = e.stack;
  return r;
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} });
