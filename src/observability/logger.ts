import { redact, redactFields } from './redact.ts';

/**
 * A small structured logger: one JSON object per line on stderr (what log pipelines ingest), or a
 * readable line when stderr is a terminal. Fields are flat key/values; errors are rendered with their
 * message, retriable flag and, at error and debug level, their stack and cause chain. Secrets never get
 * out: credentials in URLs and fields named like secrets are redacted (redact.ts).
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
    const all = redactFields({ ...base, ...fields });
    for (const [k, v] of Object.entries(all)) if (v instanceof Error) all[k] = renderError(v, level === 'debug' || level === 'error', 0);
    msg = redact(msg);
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

function renderError(e: Error, withStack: boolean, depth: number): Record<string, unknown> {
  const r: Record<string, unknown> = { name: e.name, message: redact(String(e.message)) };
  if ('retriable' in e) r.retriable = (e as { retriable: unknown }).retriable;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') r.code = code;
  if (withStack && e.stack) r.stack = redact(e.stack);
  const cause = (e as { cause?: unknown }).cause;
  if (cause !== undefined && depth < 3) r.cause = cause instanceof Error ? renderError(cause, withStack, depth + 1) : redact(String(cause));
  return r;
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} });
