import { VigilError } from '../errors/vigil-error.ts';

/**
 * The negative return codes of the breaker Lua scripts, mapped through one table (the BullMQ habit) to
 * errors that say what failed and where.
 */
export const SCRIPT_ERROR_CODES = {
  '-1': { code: 'protocol_mismatch', message: 'the stored breaker hash has another protocol version', retriable: false },
  '-2': { code: 'invalid_argument', message: 'an argument is invalid', retriable: false },
  '-3': { code: 'not_found', message: 'no such breaker', retriable: false },
} as const;

export type BreakerErrorCode = (typeof SCRIPT_ERROR_CODES)[keyof typeof SCRIPT_ERROR_CODES]['code'] | 'redis_unreachable';

/** A breaker operation failed; `code` says why, `scope`/`id`/`script` say where. */
export class BreakerError extends VigilError {
  readonly code: BreakerErrorCode;
  readonly isBreakerError = true;
  readonly scope: string;
  readonly id: string;
  readonly script: string;
  constructor(code: BreakerErrorCode, message: string, ctx: { scope: string; id: string; script: string; retriable: boolean; cause?: unknown }) {
    super(`${ctx.script} on ${ctx.scope}:${ctx.id}: ${message}`, { retriable: ctx.retriable, cause: ctx.cause });
    this.code = code;
    this.scope = ctx.scope;
    this.id = ctx.id;
    this.script = ctx.script;
  }
}

export function isBreakerError(e: unknown): e is BreakerError {
  return typeof e === 'object' && e !== null && (e as { isBreakerError?: unknown }).isBreakerError === true;
}

/** The error for a script's negative return code. */
export function scriptError(ret: number, ctx: { scope: string; id: string; script: string }): BreakerError {
  const def = SCRIPT_ERROR_CODES[String(ret) as keyof typeof SCRIPT_ERROR_CODES];
  if (!def) return new BreakerError('invalid_argument', `unexpected return code ${ret}`, { ...ctx, retriable: false });
  return new BreakerError(def.code, def.message, { ...ctx, retriable: def.retriable });
}
