import type { ValidEvent } from '../core/events.ts';
import * as b from './event-builders.ts';

const low = { riskTier: 'low' as const, stateChanging: false, name: 'search.run', vendor: 'v-quiet' };
const lowWrite = { riskTier: 'low' as const, stateChanging: true, name: 'cart.add', vendor: 'v-quiet' };

/**
 * A stream with exactly one anomaly of every kind of the contract, each on its own users, agents and
 * vendors so that they do not overlap, in event-time order. For tests of the whole registry and of
 * engines (same findings in every arrival order, in every engine).
 */
export function oneOfEachKind(): ValidEvent[] {
  const ev: ValidEvent[] = [];
  const add = (...xs: ValidEvent[]) => ev.push(...xs);
  const ok = (o: b.EventOverrides) => b.actionSucceeded({ ...o, outcome: { status: 'ok', latencyMs: 200, vendorRef: `VR-${o.intentId}-${o.attempt ?? 1}` } });

  // retry_spike: 30 retries in 60 s by one agent, each answered.
  for (let k = 0; k < 30; k++) {
    const o = { at: 10 + k * 1.5, agentId: 'retry-bot', userId: `u_r${k}`, intentId: `i-r${k}`, action: { ...low, vendor: 'v-retry' }, attempt: 2 };
    add(b.actionRequested(o), ok({ ...o, at: o.at + 0.3 }));
  }
  // idempotency_key_reuse: one key, two payloads.
  for (const [s, h] of [[5, 'sha256:a'], [6, 'sha256:b']] as const) {
    const o = { at: s, userId: 'u_ikr', intentId: `i-ikr-${s}`, action: lowWrite, idempotencyKey: 'idk-shared', payloadHash: h };
    add(b.actionRequested(o), ok({ ...o, at: s + 0.2 }));
  }
  // duplicate_action: one payload done twice under two keys.
  add(ok({ at: 20, userId: 'u_dup', intentId: 'i-dup-1', action: lowWrite, idempotencyKey: 'idk-d1' }));
  add(ok({ at: 40, userId: 'u_dup', intentId: 'i-dup-2', action: lowWrite, idempotencyKey: 'idk-d2' }));
  // missing_idempotency_key.
  add(b.actionRequested({ at: 30, userId: 'u_mik', intentId: 'i-mik', action: lowWrite, idempotencyKey: undefined }));
  add(ok({ at: 30.5, userId: 'u_mik', intentId: 'i-mik', action: lowWrite, idempotencyKey: undefined }));
  // unconfirmed_action: medium risk, no confirmation.
  const med = { ...lowWrite, riskTier: 'medium' as const, name: 'order.place' };
  add(b.actionRequested({ at: 50, userId: 'u_unc', intentId: 'i-unc', action: med }), ok({ at: 51, userId: 'u_unc', intentId: 'i-unc', action: med }));
  // confirmation_mismatch: confirmed one payload, requested another.
  add(b.confirmationAccepted({ at: 60, userId: 'u_mis', intentId: 'i-mis', action: med, payloadHash: 'sha256:confirmed' }));
  add(b.actionRequested({ at: 61, userId: 'u_mis', intentId: 'i-mis', action: med, payloadHash: 'sha256:changed' }));
  add(ok({ at: 62, userId: 'u_mis', intentId: 'i-mis', action: med, payloadHash: 'sha256:changed' }));
  // missing_step_up: high risk, confirmed, no step-up.
  const high = { ...lowWrite, riskTier: 'high' as const, name: 'payment.send' };
  add(b.confirmationAccepted({ at: 70, userId: 'u_msu', intentId: 'i-msu', action: high }));
  add(b.actionRequested({ at: 71, userId: 'u_msu', intentId: 'i-msu', action: high }), ok({ at: 72, userId: 'u_msu', intentId: 'i-msu', action: high }));
  // confirmation_failure_spike: 8 of 20 confirmations rejected.
  for (let k = 0; k < 20; k++) {
    const o = { at: 80 + k, agentId: 'picky-bot', userId: `u_p${k}`, intentId: `i-p${k}`, action: med };
    add(b.confirmationRequested(o));
    if (k < 8) add(b.confirmationRejected({ ...o, at: o.at + 2 }));
  }
  // vendor_failure_rate: 20 failures in 60 s at one vendor.
  for (let k = 0; k < 20; k++) {
    add(b.actionFailed({ at: 100 + k, userId: `u_f${k}`, intentId: `i-f${k}`, action: { ...lowWrite, vendor: 'v-down' }, outcome: { status: 'timeout', latencyMs: 3000 } }));
  }
  // scope_violation: the token lacks the scope.
  const o9 = { at: 130, userId: 'u_scope', intentId: 'i-scope', action: lowWrite, scopes: ['profile:read'], requiredScope: 'cart:write' };
  add(b.actionRequested(o9), ok({ ...o9, at: 131 }));
  // action_after_consent_revoked.
  add(b.consentRevoked({ at: 140, userId: 'u_rev' }));
  add(b.actionRequested({ at: 141, userId: 'u_rev', intentId: 'i-rev', action: lowWrite }), ok({ at: 142, userId: 'u_rev', intentId: 'i-rev', action: lowWrite }));
  // runaway_agent: 20 new state-changing actions for one user in 60 s.
  for (let k = 0; k < 20; k++) {
    const o = { at: 150 + k * 2, agentId: 'loop-bot', userId: 'u_loop', intentId: `i-l${k}`, action: lowWrite, idempotencyKey: `idk-l${k}`, payloadHash: `sha256:l${k}` };
    add(b.actionRequested(o), ok({ ...o, at: o.at + 0.5 }));
  }
  // orphaned_action: no outcome ever.
  add(b.actionRequested({ at: 200, userId: 'u_orph', intentId: 'i-orph', action: { ...lowWrite, vendor: 'v-silent' } }));
  // compensation_failed.
  add(b.compensationRequested({ at: 210, userId: 'u_comp', intentId: 'i-comp', action: lowWrite }));
  add(b.compensationFailed({ at: 215, userId: 'u_comp', intentId: 'i-comp', action: lowWrite }));
  // unmasked_pii: an e-mail address as session id.
  add(b.intentParsed({ at: 220, userId: 'u_pii', intentId: 'i-pii', sessionId: 'jane.doe@example.com', action: low }));

  return ev.sort((x, y) => x.ts - y.ts);
}
