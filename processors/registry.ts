import type { Detector } from './core/detector.ts';
import { retrySpike } from './retry-spike/detector.ts';
import { idempotencyKeyReuse } from './idempotency-key-reuse/detector.ts';
import { duplicateAction } from './duplicate-action/detector.ts';
import { missingIdempotencyKey } from './missing-idempotency-key/detector.ts';
import { unconfirmedAction } from './unconfirmed-action/detector.ts';
import { confirmationMismatch } from './confirmation-mismatch/detector.ts';
import { missingStepUp } from './missing-step-up/detector.ts';
import { confirmationFailureSpike } from './confirmation-failure-spike/detector.ts';
import { vendorFailureRate } from './vendor-failure-rate/detector.ts';
import { scopeViolation } from './scope-violation/detector.ts';
import { actionAfterConsentRevoked } from './action-after-consent-revoked/detector.ts';
import { runawayAgent } from './runaway-agent/detector.ts';
import { orphanedAction } from './orphaned-action/detector.ts';
import { compensationFailed } from './compensation-failed/detector.ts';
import { unmaskedPii } from './unmasked-pii/detector.ts';

/**
 * Every detector vigil runs, one per anomaly kind of the contract (section 2), in a stable order.
 * Each lives in its own folder: processors/<kind-with-dashes>/.
 */
export const ALL_DETECTORS: readonly Detector<any, any>[] = [
  retrySpike,
  idempotencyKeyReuse,
  duplicateAction,
  missingIdempotencyKey,
  unconfirmedAction,
  confirmationMismatch,
  missingStepUp,
  confirmationFailureSpike,
  vendorFailureRate,
  scopeViolation,
  actionAfterConsentRevoked,
  runawayAgent,
  orphanedAction,
  compensationFailed,
  unmaskedPii,
];
