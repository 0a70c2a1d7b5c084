import type { Detector } from '../../processors/core/detector.ts';
import type { AnomalyKind } from '../../processors/core/finding.ts';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../../processors/engine/event-time-guard.ts';
import { DEFAULT_LATENESS_MS } from '../../processors/engine/rule-set.ts';
import { DEFAULT_RULE_SCOPES } from '../breakers/breaker-policy.ts';
import { DEFAULT_SETTINGS } from '../breakers/state.ts';
import { DEFAULT_COMPENSATION_POLICY_TIMES, DEFAULT_COMPENSATION_RULES } from '../compensation/compensation-policy.ts';
import { DEFAULT_NOTIFICATION_POLICY } from '../notify/notification-policy.ts';

/** What each rule raises, as the contract (section 2) words it; printed above the rule in the file. */
const RAISED_WHEN: Record<AnomalyKind, string> = {
  retry_spike: 'an agent makes many retries (attempt > 1) in a window, or one intent reaches a high attempt',
  idempotency_key_reuse: 'one userId + idempotencyKey is requested with two different payloadHash values',
  duplicate_action: 'two successes of one state-changing action and payload under different keys (or vendorRefs)',
  missing_idempotency_key: 'a state-changing action.requested has no idempotencyKey',
  unconfirmed_action: 'a medium/high-risk action.requested has no confirmation.accepted for its intent before it',
  confirmation_mismatch: "an action.requested's payloadHash differs from the accepted confirmation's",
  missing_step_up: 'a high-risk action.requested has no stepup.passed for its intent before it',
  confirmation_failure_spike: 'for one agent, too many confirmations are rejected or expired',
  vendor_failure_rate: 'for one vendor, too many outcomes fail, or take too long',
  scope_violation: "an action.requested's requiredScope is not in scopes, or follows an authz deny",
  action_after_consent_revoked: 'a user has an action.requested after consent.revoked (and before consent.granted)',
  runaway_agent: 'one agent makes too many first-attempt state-changing actions for one user',
  orphaned_action: 'an action.requested gets no action.succeeded or action.failed in time',
  compensation_failed: 'a compensation fails, or gets no compensation.succeeded in time',
  unmasked_pii: 'an identifier field holds an e-mail address, a phone number or a card number',
};

const HEADER = `# vigil policy: what each detector looks for, how strongly, and where.
#
# Validated at start and on reload (SIGHUP or a change of this file); an invalid file is refused with
# its file, line and field, and the running policy stays. Unknown keys are errors. Every finding carries
# policyVersion = p-<first 12 hex of the sha256 of this file>.
#
# detectors.<kind>:
#   mode:     enabled | disabled | shadow   (shadow: findings are reported, no breaker, compensation or e-mail)
#   severity: info | warning | critical     (a detector may still set a finding's own severity)
#   params:   the detector's thresholds and windows; names ending in Ms are event-time durations (ms > 0),
#             ratios are 0..1, counts are ≥ 1.
#
# overrides: a list of { name?, match: { env?, plan?, agent?, vendor? }, detectors: { <kind>: {…} } }.
#   env is the monitor's environment (config VIGIL_ENV); plan, agent and vendor are the event's plan,
#   agentId and action.vendor. Precedence: detector defaults < detectors.<kind> < matching overrides,
#   the more match fields the stronger; between overrides with as many fields, the later one wins.
#
# breakers, compensations, notifications: what vigil does about a finding (circuit breakers, sagas that
# undo an action, on-call e-mail and Alertmanager alerts), at the end of the file.
`;

/** Renders the documented default policy (every detector at the contract's defaults) as YAML. */
export function renderDefaultPolicy(detectors: readonly Detector<any, any>[]): string {
  const lines = [HEADER];
  lines.push('# Events may arrive this much later than newer ones (event time) and still count.');
  lines.push(`latenessMs: ${DEFAULT_LATENESS_MS}`);
  lines.push('');
  lines.push('# What one event with a wrong clock can do to event time (README: "How the monitor handles events").');
  lines.push('# maxFutureSkewMs: an event further ahead of the newest event time accepted is held until jumpQuorum');
  lines.push('#   later events confirm its time (as after a quiet gap), or refused when as many refute it;');
  lines.push('# maxPastMs: an event further behind its partition\'s newest event time is refused (dead-lettered live).');
  lines.push('eventTime:');
  for (const [k, v] of Object.entries(DEFAULT_EVENT_TIME_BOUNDS)) lines.push(`  ${k}: ${v}`);
  lines.push('');
  lines.push('detectors:');
  if (detectors.length === 0) lines[lines.length - 1] += ' {}';
  for (const d of detectors) {
    lines.push(`  # ${d.kind}: raised when ${RAISED_WHEN[d.kind]}.`);
    lines.push(`  ${d.kind}:`);
    lines.push('    mode: enabled');
    lines.push(`    severity: ${d.severity}`);
    const params = Object.entries(d.defaults as Record<string, unknown>);
    if (params.length === 0) {
      lines.push('    params: {}');
    } else {
      lines.push('    params:');
      for (const [k, v] of params) lines.push(`      ${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
    }
  }
  lines.push('');
  lines.push('# Example: be stricter with free-plan traffic of one agent, and try a rule in shadow mode first.');
  lines.push('#   - name: free plan shop-helper');
  lines.push('#     match: { plan: free, agent: shop-helper }');
  lines.push('#     detectors:');
  lines.push('#       runaway_agent: { mode: shadow }');
  lines.push('overrides: []');
  lines.push('');
  lines.push('# Circuit breakers: which findings trip which breaker (scope), for how long (doubling from baseMs');
  lines.push('# up to capMs, ± jitter) and how many half-open trials close it again. A rule may override the');
  lines.push('# defaults, run in shadow (shadow: true) or be switched off (enabled: false).');
  lines.push('breakers:');
  lines.push(`  defaults: { ${Object.entries(DEFAULT_SETTINGS).map(([k, v]) => `${k}: ${v}`).join(', ')} }`);
  lines.push('  rules:');
  for (const [kind, scope] of Object.entries(DEFAULT_RULE_SCOPES)) lines.push(`    ${kind}: { scope: ${scope} }`);
  lines.push('');
  lines.push('# Compensations (sagas): which findings ask the vendor to undo the action they name (cancel, refund,');
  lines.push('# void_auth, release_hold or none), as a command on safety.compensations. vigil waits timeoutMs');
  lines.push('# (wall clock) for compensation.succeeded or .failed, re-sends after min(capMs, baseMs·2^(n-1)) up');
  lines.push('# to maxAttempts, then escalates (a critical e-mail and the vendor\'s breaker). byAction picks');
  lines.push('# another kind for some action names ("prefix.*" matches a prefix); shadow: true plans, sends nothing.');
  lines.push('# Only findings that name one action can be compensated: duplicate_action (the later success),');
  lines.push('# unconfirmed_action, confirmation_mismatch, action_after_consent_revoked, missing_step_up.');
  lines.push('compensations:');
  const t = DEFAULT_COMPENSATION_POLICY_TIMES;
  lines.push(`  timeoutMs: ${t.timeoutMs}`);
  lines.push(`  resend: { baseMs: ${t.resend.baseMs}, capMs: ${t.resend.capMs}, maxAttempts: ${t.resend.maxAttempts} }`);
  lines.push('  rules:');
  for (const [kind, r] of Object.entries(DEFAULT_COMPENSATION_RULES)) {
    const by = r.byAction && Object.keys(r.byAction).length > 0 ? `, byAction: { ${Object.entries(r.byAction).map(([k, v]) => `"${k}": ${v}`).join(', ')} }` : '';
    lines.push(`    ${kind}: { action: ${r.action}${by} }`);
  }
  lines.push('');
  lines.push('# On-call notifications. An incident is one kind on one scope; its findings make one e-mail (sent');
  lines.push('# groupWaitMs after the first), a reminder every reminderMs while it stays open, and a "resolved"');
  lines.push('# e-mail when its breakers close (no breaker: after resolveQuietMs without a finding). Each incident');
  lines.push('# is also pushed to Alertmanager at once and again every alertRepushMs. Findings below minSeverity,');
  lines.push('# and shadow findings, notify nobody. routes: every matching route adds its recipient groups');
  lines.push('# (match on severity, kind, scope, scopeId; a value or a list); none matching: oncall. Groups are');
  lines.push('# named here, their addresses come from the configuration only (oncall = VIGIL_ONCALL_TO, others');
  lines.push('# from VIGIL_MAIL_RECIPIENTS).');
  lines.push('notifications:');
  const n = DEFAULT_NOTIFICATION_POLICY;
  lines.push(`  minSeverity: ${n.minSeverity}`);
  lines.push(`  groupWaitMs: ${n.groupWaitMs}`);
  lines.push(`  reminderMs: ${n.reminderMs}`);
  lines.push(`  resolveQuietMs: ${n.resolveQuietMs}`);
  lines.push(`  alertRepushMs: ${n.alertRepushMs}`);
  lines.push('  routes:');
  lines.push('    - match: { severity: [warning, critical] }');
  lines.push('      to: [oncall]');
  lines.push('');
  return lines.join('\n');
}

// `node src/policy/default-policy.ts [FILE]` rewrites the shipped policy (default vigil.policy.yaml)
// from the registered detectors, e.g. after a detector gains a parameter.
if (import.meta.main) {
  const { writeFileSync } = await import('node:fs');
  const { ALL_DETECTORS } = await import('../../processors/registry.ts');
  const file = process.argv[2] ?? 'vigil.policy.yaml';
  writeFileSync(file, renderDefaultPolicy(ALL_DETECTORS));
  process.stdout.write(`wrote ${file} (${ALL_DETECTORS.length} detectors)\n`);
}
