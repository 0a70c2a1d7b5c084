import { BREAKER_SCOPES, BREAKER_STATES, scopeIdProblem } from './state.ts';
import type { BreakerScope, BreakerStateName } from './state.ts';

/**
 * Validation shared by the HTTP API and the CLI, so both refuse the same input with the same words.
 * Each function returns the valid value or a message naming what is wrong.
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export const OPERATOR_ACTIONS = ['force-open', 'force-close', 'reset'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

/** Longest override: 30 days. */
export const MAX_TTL_SECONDS = 30 * 86_400;

export interface OperatorRequest {
  actor: string;
  reason: string;
  /** Required for force-open and force-close; refused for reset. */
  ttlSeconds: number | undefined;
}

export function checkBreakerRef(scope: unknown, id: unknown): Checked<{ scope: BreakerScope; id: string }> {
  const problem = scopeIdProblem(scope, id);
  return problem ? { ok: false, error: problem } : { ok: true, value: { scope: scope as BreakerScope, id: id as string } };
}

export function checkListFilter(scope: unknown, state: unknown): Checked<{ scope?: BreakerScope; state?: BreakerStateName }> {
  if (scope !== undefined && !(BREAKER_SCOPES as readonly unknown[]).includes(scope)) return { ok: false, error: `scope must be one of ${BREAKER_SCOPES.join(', ')} (got ${JSON.stringify(scope)})` };
  if (state !== undefined && !(BREAKER_STATES as readonly unknown[]).includes(state)) return { ok: false, error: `state must be one of ${BREAKER_STATES.join(', ')} (got ${JSON.stringify(state)})` };
  const value: { scope?: BreakerScope; state?: BreakerStateName } = {};
  if (scope !== undefined) value.scope = scope as BreakerScope;
  if (state !== undefined) value.state = state as BreakerStateName;
  return { ok: true, value };
}

/** Checks {actor, reason, ttlSeconds} for an operator action. */
export function checkOperatorRequest(action: OperatorAction, body: unknown): Checked<OperatorRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'body must be a JSON object {actor, reason, ttlSeconds}' };
  const b = body as Record<string, unknown>;
  const known = action === 'reset' ? ['actor', 'reason'] : ['actor', 'reason', 'ttlSeconds'];
  for (const k of Object.keys(b)) {
    if (!known.includes(k)) {
      return { ok: false, error: k === 'ttlSeconds' ? 'ttlSeconds does not apply to reset' : `unknown field "${k}" (known: ${known.join(', ')})` };
    }
  }
  const text = (k: 'actor' | 'reason', max: number): string | undefined =>
    typeof b[k] === 'string' && (b[k] as string).trim() !== '' && (b[k] as string).length <= max ? (b[k] as string) : undefined;
  const actor = text('actor', 200);
  if (actor === undefined) return { ok: false, error: `actor is required: who does this, a non-empty string of at most 200 characters (got ${JSON.stringify(b.actor)})` };
  const reason = text('reason', 1000);
  if (reason === undefined) return { ok: false, error: `reason is required: why, a non-empty string of at most 1000 characters (got ${JSON.stringify(b.reason)})` };
  let ttlSeconds: number | undefined;
  if (action !== 'reset') {
    const t = b.ttlSeconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_TTL_SECONDS) {
      return { ok: false, error: `ttlSeconds is required: a whole number of seconds from 1 to ${MAX_TTL_SECONDS} (got ${JSON.stringify(t)})` };
    }
    ttlSeconds = t;
  }
  return { ok: true, value: { actor, reason, ttlSeconds } };
}

/**
 * What the HTTP API (503) and the CLI (exit 1) say about an operator write given up at its deadline
 * (BreakerError write_abandoned or deadline_passed): it was not applied, and will not be.
 */
export function abandonedMessage(action: OperatorAction, scope: string, id: string, e: Error): string {
  const why = e.message.replace(/^[A-Za-z]+ on [^:]+:[^:]*: /, '');
  return `${action} of ${scope}/${id} abandoned at its deadline and NOT applied (Redis refuses it if it arrives later): ${why}; try again when Redis answers`;
}
