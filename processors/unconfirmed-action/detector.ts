import { formatDuration } from '../shared/evidence.ts';
import { requiredPriorDetector } from '../shared/required-prior.ts';

/**
 * unconfirmed_action: a medium- or high-risk `action.requested` (attempt 1) with no
 * `confirmation.accepted` for its intent in the `windowMs` (default 15 min) before it. Scope: agent.
 * A confirmation that arrives up to the lateness after the request it precedes in event time counts.
 * Low-risk actions need no confirmation. One finding per intent.
 */
export const unconfirmedAction = requiredPriorDetector({
  kind: 'unconfirmed_action',
  severity: 'critical',
  priorType: 'confirmation.accepted',
  needsPrior: (e) => e.attempt === 1 && (e.action?.riskTier === 'medium' || e.action?.riskTier === 'high'),
  summary: (r, s) =>
    `agent ${r.ag} requested ${r.risk}-risk ${r.action} at ${r.vendor} with no accepted confirmation in the ${formatDuration(r.W)} before it (user ${s.userId}, intent ${s.intentId})`,
});
