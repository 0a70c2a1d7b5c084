/**
 * Breaker protocol v1 (docs/breaker-protocol.md in the vigil repository): the scopes, the states, the
 * stored reason, the policy settings kept in the hash, and the id rules. Pure: no I/O.
 */

/** The `v` field of every breaker hash this package reads and writes. */
export const PROTOCOL_VERSION = 1;

export const BREAKER_SCOPES = ['global', 'vendor', 'agent', 'user', 'action'] as const;
export type BreakerScope = (typeof BREAKER_SCOPES)[number];

export const BREAKER_STATES = ['closed', 'open', 'half_open', 'forced_open', 'forced_closed'] as const;
export type BreakerStateName = (typeof BREAKER_STATES)[number];

/** The id of the one `global` breaker. */
export const GLOBAL_ID = 'all';

/** Why a breaker opened (stored with it as JSON in the `reason` field, and carried by the trip transition). */
export interface BreakerReason {
  ruleId: string;
  kind: string;
  policyVersion: string;
  /** The rule's observed count or rate, against its threshold, when the finding carried them. */
  observed: number | null;
  threshold: number | null;
  findingIds: string[];
  traceIds: string[];
  summary: string;
}

/** How a breaker backs off and probes; set by the trip that opened it (stored in the hash). */
export interface BreakerSettings {
  /** Open duration of the first trip; trip n opens for min(capMs, baseMs·2^(n-1)) minus jitter. */
  baseMs: number;
  capMs: number;
  /** 0..1: the share of the duration that jitter may take off (deterministic). */
  jitter: number;
  /** Trial calls let through in half_open; that many successes close the breaker. */
  trials: number;
  /** A half_open breaker whose permits were not all reported by then hands them out again. */
  trialTimeoutMs: number;
}

/** The settings of a hash that has none yet (what the Lua scripts write for a new breaker). */
export const DEFAULT_SETTINGS: BreakerSettings = Object.freeze({
  baseMs: 30_000,
  capMs: 900_000,
  jitter: 0.2,
  trials: 3,
  trialTimeoutMs: 30_000,
});

/** Parses the stored reason, tolerating an absent one (older or hand-written hashes). */
export function parseReason(raw: string | undefined): BreakerReason {
  const empty: BreakerReason = { ruleId: '', kind: '', policyVersion: '', observed: null, threshold: null, findingIds: [], traceIds: [], summary: '' };
  if (!raw) return empty;
  try {
    return { ...empty, ...(JSON.parse(raw) as Partial<BreakerReason>) };
  } catch {
    return { ...empty, summary: raw };
  }
}

const ID_RE = /^[^\s{}]{1,200}$/u;

/** Why a scope or id is unacceptable, or undefined when it is fine. Ids: 1–200 chars, no spaces or braces. */
export function scopeIdProblem(scope: unknown, id: unknown): string | undefined {
  if (typeof scope !== 'string' || !(BREAKER_SCOPES as readonly string[]).includes(scope)) {
    return `scope must be one of ${BREAKER_SCOPES.join(', ')} (got ${JSON.stringify(scope)})`;
  }
  if (typeof id !== 'string' || !ID_RE.test(id)) return `${scope} id must be 1 to 200 characters without spaces or braces (got ${JSON.stringify(id)})`;
  if (scope === 'global' && id !== GLOBAL_ID) return `the global breaker's id is "${GLOBAL_ID}" (got ${JSON.stringify(id)})`;
  return undefined;
}
