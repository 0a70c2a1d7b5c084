import { formatDuration } from '../shared/evidence.ts';
import { requiredPriorDetector } from '../shared/required-prior.ts';

/**
 * missing_step_up: a high-risk `action.requested` with no `stepup.passed` for its intent in the
 * `windowMs` (default 15 min) before it. Scope: agent. A step-up that arrives up to the lateness after
 * the request it precedes in event time counts. One finding per intent (its first such request).
 */
export const missingStepUp = requiredPriorDetector({
  kind: 'missing_step_up',
  severity: 'critical',
  priorType: 'stepup.passed',
  needsPrior: (e) => e.action?.riskTier === 'high',
  summary: (r, s) =>
    `agent ${r.ag} requested high-risk ${r.action} at ${r.vendor} (attempt ${r.attempt}) with no passed step-up in the ${formatDuration(r.W)} before it (user ${s.userId}, intent ${s.intentId})`,
});
