/**
 * The negative return codes of the breaker Lua scripts, mapped through one table (the BullMQ habit) to
 * errors that say what failed and where.
 */
export const SCRIPT_ERROR_CODES = {
  '-1': { code: 'protocol_mismatch', message: 'the stored breaker hash has another protocol version', retriable: false },
  '-2': { code: 'invalid_argument', message: 'an argument is invalid', retriable: false },
  '-3': { code: 'not_found', message: 'no such breaker', retriable: false },
  '-4': { code: 'deadline_passed', message: 'Redis ran it after its write deadline and changed nothing', retriable: true },
} as const;

export type BreakerErrorCode = (typeof SCRIPT_ERROR_CODES)[keyof typeof SCRIPT_ERROR_CODES]['code'] | 'redis_unreachable' | 'write_abandoned';

/**
 * A breaker operation failed; `code` says why, `scope`/`id`/`script` say where, `retriable` whether
 * trying again can help (Redis down: yes; a bad argument: no).
 */
export class BreakerError extends Error {
  readonly code: BreakerErrorCode;
  readonly retriable: boolean;
  readonly isBreakerError = true;
  /** The marker the vigil monitor's errors carry (its isVigilError() recognises this error too). */
  readonly isVigilError = true;
  readonly scope: string;
  readonly id: string;
  readonly script: string;
  constructor(code: BreakerErrorCode, message: string, ctx: { scope: string; id: string; script: string; retriable: boolean; cause?: unknown }) {
    super(`${ctx.script} on ${ctx.scope}:${ctx.id}: ${message}`, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = 'BreakerError';
    this.code = code;
    this.retriable = ctx.retriable;
    this.scope = ctx.scope;
    this.id = ctx.id;
    this.script = ctx.script;
  }
}

/** True for a BreakerError, even one from another copy of this package (a marker, not instanceof). */
export function isBreakerError(e: unknown): e is BreakerError {
  return typeof e === 'object' && e !== null && (e as { isBreakerError?: unknown }).isBreakerError === true;
}

/** The error for a script's negative return code. */
export function scriptError(ret: number, ctx: { scope: string; id: string; script: string }): BreakerError {
  const def = SCRIPT_ERROR_CODES[String(ret) as keyof typeof SCRIPT_ERROR_CODES];
  if (!def) return new BreakerError('invalid_argument', `unexpected return code ${ret}`, { ...ctx, retriable: false });
  return new BreakerError(def.code, def.message, { ...ctx, retriable: def.retriable });
}
