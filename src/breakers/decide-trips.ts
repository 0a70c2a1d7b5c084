import type { Finding } from '../../processors/core/finding.ts';
import type { BreakerPolicy } from './breaker-policy.ts';
import type { TripArgs } from './machine.ts';
import { GLOBAL_ID, scopeIdProblem } from './state.ts';
import type { BreakerReason, BreakerScope } from './state.ts';

/** The distinct agents and users that saw the failure behind a finding (for quorum and narrower scopes). */
export interface QuorumState {
  agents: readonly string[];
  users: readonly string[];
}

/** One breaker to trip for a finding. */
export interface TripAction {
  scope: BreakerScope;
  id: string;
  args: TripArgs;
}

export interface TripDecision {
  /** Breakers to trip. */
  trips: TripAction[];
  /** What a shadow rule (or a shadow finding) would have tripped: reported, never applied. */
  shadow: TripAction[];
  /** Why nothing (or a narrower scope) is tripped, for logs. */
  note: string | null;
}

/** The stored "why" of a breaker opened by this finding. */
export function reasonOf(f: Finding): BreakerReason {
  return {
    ruleId: f.ruleId,
    kind: f.kind,
    policyVersion: f.policyVersion,
    observed: f.metrics?.observed ?? null,
    threshold: f.metrics?.threshold ?? null,
    findingIds: [f.findingId],
    traceIds: [...(f.traceIds ?? [])],
    summary: f.summary,
  };
}

/**
 * Which breakers a finding trips under a policy. Pure. The breaker is the rule's scope; its id is the
 * finding's scope id when the scopes match, `all` for global, and otherwise the agents or users of
 * `quorum` (the finding carries no such id itself). A vendor rule with a quorum opens the vendor only
 * when at least K distinct agents (or users) saw the failure, and otherwise opens each of those.
 */
export function decideTrips(finding: Finding, policy: BreakerPolicy, quorum: QuorumState = { agents: [], users: [] }): TripDecision {
  const rule = policy.rules[finding.kind];
  if (!rule || !rule.enabled) return { trips: [], shadow: [], note: `no enabled breaker rule for ${finding.kind}` };
  const action = (scope: BreakerScope, id: string): TripAction => ({
    scope, id, args: { findingId: finding.findingId, reason: reasonOf(finding), settings: { ...rule.settings } },
  });
  let targets: { scope: BreakerScope; id: string }[];
  let note: string | null = null;
  const narrower = (of: 'agents' | 'users') => (quorum[of] ?? []).map((id) => ({ scope: (of === 'agents' ? 'agent' : 'user') as BreakerScope, id }));
  if (rule.scope === 'global') {
    targets = [{ scope: 'global', id: GLOBAL_ID }];
  } else if (rule.quorum && rule.scope === 'vendor') {
    const seen = new Set(quorum[rule.quorum.of] ?? []).size;
    if (seen >= rule.quorum.min) targets = [{ scope: 'vendor', id: finding.scope.id }];
    else {
      targets = narrower(rule.quorum.of);
      note = `quorum not reached (${seen} of ${rule.quorum.min} distinct ${rule.quorum.of}): opening the narrower scope`;
    }
  } else if (rule.scope === finding.scope.type) {
    targets = [{ scope: rule.scope, id: finding.scope.id }];
  } else if (rule.scope === 'agent' || rule.scope === 'user') {
    targets = narrower(rule.scope === 'agent' ? 'agents' : 'users');
    if (targets.length === 0) note = `the finding's scope is ${finding.scope.type} and no ${rule.scope} ids were given`;
  } else {
    targets = [];
    note = `the finding's scope is ${finding.scope.type}; it carries no ${rule.scope} id`;
  }
  const seenIds = new Set<string>();
  const actions: TripAction[] = [];
  for (const t of targets) {
    const problem = scopeIdProblem(t.scope, t.id);
    const k = `${t.scope}:${t.id}`;
    if (problem) {
      note = (note ? note + '; ' : '') + `skipped: ${problem}`;
      continue;
    }
    if (seenIds.has(k)) continue;
    seenIds.add(k);
    actions.push(action(t.scope, t.id));
  }
  if (rule.shadow || finding.shadow) return { trips: [], shadow: actions, note: note ?? 'shadow: trips nothing' };
  return { trips: actions, shadow: [], note };
}
