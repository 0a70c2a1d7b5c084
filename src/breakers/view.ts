import { evaluate, PROTOCOL_VERSION } from '@vigil/breaker-client/protocol';
import type { Breaker, BreakerReason, BreakerScope, BreakerStateName } from './state.ts';

/** A breaker as the HTTP API and the CLI show it. */
export interface BreakerView {
  scope: BreakerScope;
  id: string;
  /** As stored. */
  state: BreakerStateName;
  /** What a check sees now: e.g. an open breaker past its cool-down reads `half_open`, an expired override `closed`. */
  effectiveState: BreakerStateName;
  since: string | null;
  until: string | null;
  trips: number;
  findings: number;
  reason: BreakerReason | null;
  actor: string | null;
  note: string | null;
  permits: number | null;
}

const iso = (ms: number | undefined) => (ms === undefined || ms === 0 ? null : new Date(ms).toISOString());

export function breakerView(b: Breaker, now: number): BreakerView {
  const s = b.status;
  const fields = {
    v: String(PROTOCOL_VERSION),
    state: s.kind,
    until: s.kind === 'closed' ? undefined : String(s.until),
    permits: s.kind === 'half_open' ? String(s.permits) : undefined,
  };
  const v = evaluate(fields, now);
  // A Breaker is always a v1 state this code knows, so evaluate never answers `unknown` for it.
  const effectiveState: BreakerStateName = v.kind === 'probe' ? 'half_open' : v.state === 'unknown' ? s.kind : v.state;
  return {
    scope: b.scope,
    id: b.id,
    state: s.kind,
    effectiveState,
    since: iso(s.kind === 'closed' ? undefined : s.since),
    until: iso(s.kind === 'closed' ? undefined : s.until),
    trips: b.trips,
    findings: b.findings,
    reason: s.kind === 'open' || s.kind === 'half_open' ? s.reason : null,
    actor: s.kind === 'forced_open' || s.kind === 'forced_closed' ? s.actor : null,
    note: s.kind === 'forced_open' || s.kind === 'forced_closed' ? s.note : null,
    permits: s.kind === 'half_open' ? s.permits : null,
  };
}
