import { COMPENSATION_KINDS, EVENT_TYPES, RISK_TIERS, type CompensationKind, type EventType, type RiskTier, type ValidEvent } from '../../processors/core/events.ts';

/**
 * What the safety KPIs need from one batch of events, counted in one pass with no state and no I/O
 * (the detectors stay untouched). The ratios are Prometheus recording rules (alerts/vigil.rules.yml);
 * these are their denominators and the counts the detectors do not give:
 *
 * - `byType`: every handled event, by type;
 * - `actions`: first-attempt `action.requested` (attempt absent or 1: a retry is not a new action), by
 *   risk tier and whether it changes state;
 * - `transactions`: `action.succeeded` of a state-changing action, by risk tier (what could be reversed);
 * - `reversals`: `compensation.succeeded`, by compensation kind (a transaction undone).
 */
export interface BatchCounts {
  byType: Record<EventType, number>;
  actions: Record<RiskTier, { stateChanging: number; readOnly: number }>;
  transactions: Record<RiskTier, number>;
  reversals: Record<CompensationKind, number>;
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  const r = {} as Record<K, number>;
  for (const k of keys) r[k] = 0;
  return r;
}

/** Empty counts (every key present, all zero). */
export function emptyBatchCounts(): BatchCounts {
  const actions = {} as BatchCounts['actions'];
  for (const r of RISK_TIERS) actions[r] = { stateChanging: 0, readOnly: 0 };
  return { byType: zeros(EVENT_TYPES), actions, transactions: zeros(RISK_TIERS), reversals: zeros(COMPENSATION_KINDS) };
}

/** Counts one batch's events (pure). */
export function countBatch(events: readonly ValidEvent[]): BatchCounts {
  const c = emptyBatchCounts();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    c.byType[e.type]++;
    const a = e.action;
    if (a === undefined) continue;
    if (e.type === 'action.requested') {
      if (e.attempt === undefined || e.attempt <= 1) {
        if (a.stateChanging) c.actions[a.riskTier].stateChanging++;
        else c.actions[a.riskTier].readOnly++;
      }
    } else if (e.type === 'action.succeeded') {
      if (a.stateChanging) c.transactions[a.riskTier]++;
    } else if (e.type === 'compensation.succeeded' && e.compensation !== undefined) {
      c.reversals[e.compensation.kind]++;
    }
  }
  return c;
}
