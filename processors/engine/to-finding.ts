import type { Detection, Detector } from '../core/detector.ts';
import type { Finding } from '../core/finding.ts';
import { findingIdOf } from '../core/finding-id.ts';
import type { ResolvedRule } from './rule-set.ts';

/**
 * Turns a detector's Detection into a contract Finding: deterministic id, RFC 3339 detectedAt, the rule
 * and policy version, shadow flag, and severity (the detection's, else the rule's, else the detector's).
 */
export function toFinding(detector: Detector<any, any>, rule: ResolvedRule, policyVersion: string, d: Detection): Finding {
  const f: Finding = {
    findingId: findingIdOf(detector.kind, d.scope, d.eventIds),
    kind: detector.kind,
    severity: d.severity ?? rule.severity ?? detector.severity,
    scope: { type: d.scope.type, id: d.scope.id },
    detectedAt: new Date(d.detectedAt).toISOString(),
    eventIds: [...d.eventIds],
    ruleId: rule.ruleId,
    policyVersion,
    shadow: rule.mode === 'shadow',
    summary: d.summary,
  };
  if (d.traceIds && d.traceIds.length > 0) f.traceIds = [...d.traceIds];
  if (d.metrics) f.metrics = { ...d.metrics };
  if (d.subjects) f.subjects = { agents: [...d.subjects.agents], users: [...d.subjects.users] };
  if (d.target) f.target = { ...d.target };
  return f;
}
