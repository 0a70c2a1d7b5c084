import type { AnomalyKind } from '../../processors/core/finding.ts';
import { COMPENSATION_KINDS, type CompensationKind } from '../../processors/core/events.ts';
import { forEachKindRule, isMapping as isObj, showValue as show } from '../policy/kind-rules.ts';

/**
 * The `compensations:` section of the policy file, pure: which finding kinds ask for a compensation
 * (a saga), of what kind, and how long vigil waits for its outcome before it re-sends and finally
 * escalates. Example:
 *
 * ```yaml
 * compensations:
 *   timeoutMs: 300000
 *   resend: { baseMs: 60000, capMs: 900000, maxAttempts: 4 }
 *   rules:
 *     duplicate_action: { action: cancel, byAction: { "payment.*": refund } }
 *     unconfirmed_action: { action: cancel, shadow: true }
 *     confirmation_mismatch: { action: none }
 * ```
 * `rules` is merged over the default rules by kind. `action: none` asks for nothing. A shadow rule is
 * planned (logged, shown by `vigil replay --plan`) and never sent. `byAction` picks another kind for
 * some action names (`payment.*` matches every name starting with `payment.`).
 * Times are wall-clock (Redis TIME): waiting for a vendor is operational, not detection.
 */
export type CompensationAction = CompensationKind | 'none';

export interface CompensationRule {
  kind: AnomalyKind;
  action: CompensationAction;
  /** Action name (or `prefix.*`) → compensation kind, for this rule's findings. */
  byAction: Readonly<Record<string, CompensationAction>>;
  shadow: boolean;
}

export interface CompensationPolicy {
  /** How long a sent command waits for compensation.succeeded or .failed before it counts as timed out. */
  timeoutMs: number;
  /** Re-sends after a timeout: after min(capMs, baseMs·2^(n-1)); maxAttempts counts the first send. */
  resend: { baseMs: number; capMs: number; maxAttempts: number };
  rules: Partial<Record<AnomalyKind, CompensationRule>>;
}

/**
 * The kinds whose findings name the one action to undo (Finding.target). Only these can be compensated.
 */
export const TARGETED_KINDS: readonly AnomalyKind[] = [
  'duplicate_action',
  'unconfirmed_action',
  'confirmation_mismatch',
  'action_after_consent_revoked',
  'missing_step_up',
];

/** The default mapping (issue 10): the later of two duplicates, and actions the user did not agree to, are undone. */
export const DEFAULT_COMPENSATION_RULES: Partial<Record<AnomalyKind, { action: CompensationAction; byAction?: Record<string, CompensationAction> }>> = {
  duplicate_action: { action: 'cancel', byAction: { 'payment.*': 'refund' } },
  confirmation_mismatch: { action: 'cancel' },
  unconfirmed_action: { action: 'cancel' },
  action_after_consent_revoked: { action: 'cancel' },
};

export const DEFAULT_COMPENSATION_POLICY_TIMES = Object.freeze({
  timeoutMs: 300_000,
  resend: Object.freeze({ baseMs: 60_000, capMs: 900_000, maxAttempts: 4 }),
});

export interface PolicyProblem {
  field: string;
  message: string;
}

const ACTIONS: readonly string[] = [...COMPENSATION_KINDS, 'none'];
const ROOT_KEYS = ['timeoutMs', 'resend', 'rules'];
const RESEND_KEYS = ['baseMs', 'capMs', 'maxAttempts'];
const RULE_KEYS = ['action', 'byAction', 'shadow'];

/** Validates the section (undefined: all defaults) and collects every problem. */
export function checkCompensationPolicy(raw: unknown): { policy: CompensationPolicy; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const policy: CompensationPolicy = {
    timeoutMs: DEFAULT_COMPENSATION_POLICY_TIMES.timeoutMs,
    resend: { ...DEFAULT_COMPENSATION_POLICY_TIMES.resend },
    rules: {},
  };
  for (const [kind, r] of Object.entries(DEFAULT_COMPENSATION_RULES)) {
    policy.rules[kind as AnomalyKind] = { kind: kind as AnomalyKind, action: r.action, byAction: { ...r.byAction }, shadow: false };
  }
  const section = raw ?? {};
  if (!isObj(section)) {
    problems.push({ field: 'compensations', message: `must be a mapping with ${ROOT_KEYS.join(', ')}, got ${show(raw)}` });
    return { policy, problems };
  }
  for (const k of Object.keys(section)) if (!ROOT_KEYS.includes(k)) problems.push({ field: `compensations.${k}`, message: `unknown key (known: ${ROOT_KEYS.join(', ')})` });
  const int = (v: unknown, field: string, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push({ field, message: `must be a whole number from ${min} to ${max}, got ${show(v)}` });
      return undefined;
    }
    return v;
  };
  policy.timeoutMs = int(section.timeoutMs, 'compensations.timeoutMs', 1000, 7 * 86_400_000) ?? policy.timeoutMs;
  if (section.resend !== undefined && section.resend !== null) {
    if (!isObj(section.resend)) problems.push({ field: 'compensations.resend', message: `must be a mapping of ${RESEND_KEYS.join(', ')}` });
    else {
      const r = section.resend;
      for (const k of Object.keys(r)) if (!RESEND_KEYS.includes(k)) problems.push({ field: `compensations.resend.${k}`, message: `unknown key (known: ${RESEND_KEYS.join(', ')})` });
      policy.resend.baseMs = int(r.baseMs, 'compensations.resend.baseMs', 0, 86_400_000) ?? policy.resend.baseMs;
      policy.resend.capMs = int(r.capMs, 'compensations.resend.capMs', 0, 7 * 86_400_000) ?? policy.resend.capMs;
      policy.resend.maxAttempts = int(r.maxAttempts, 'compensations.resend.maxAttempts', 1, 100) ?? policy.resend.maxAttempts;
      if (policy.resend.capMs < policy.resend.baseMs) problems.push({ field: 'compensations.resend.capMs', message: `must be ≥ baseMs (${policy.resend.baseMs}), got ${policy.resend.capMs}` });
    }
  }
  forEachKindRule('compensations', section.rules ?? {}, RULE_KEYS, '{ action, byAction, shadow }', problems, (kind, r, path) => {
    const prev = policy.rules[kind];
    const action = r.action ?? prev?.action ?? 'none';
    if (typeof action !== 'string' || !ACTIONS.includes(action)) {
      problems.push({ field: `${path}.action`, message: `must be one of ${ACTIONS.join(', ')}, got ${show(r.action)}` });
      return;
    }
    const byAction: Record<string, CompensationAction> = { ...(r.byAction === undefined ? prev?.byAction : {}) };
    if (r.byAction !== undefined && r.byAction !== null) {
      if (!isObj(r.byAction)) problems.push({ field: `${path}.byAction`, message: 'must be a mapping from action name (or prefix.*) to a compensation kind' });
      else {
        for (const [name, a] of Object.entries(r.byAction)) {
          if (typeof a !== 'string' || !ACTIONS.includes(a)) problems.push({ field: `${path}.byAction.${name}`, message: `must be one of ${ACTIONS.join(', ')}, got ${show(a)}` });
          else byAction[name] = a as CompensationAction;
        }
      }
    }
    if (r.shadow !== undefined && typeof r.shadow !== 'boolean') problems.push({ field: `${path}.shadow`, message: `must be true or false, got ${show(r.shadow)}` });
    const wantsSomething = action !== 'none' || Object.values(byAction).some((a) => a !== 'none');
    if (wantsSomething && !TARGETED_KINDS.includes(kind)) {
      problems.push({ field: `${path}.action`, message: `${kind} findings name no single action to undo (kinds that do: ${TARGETED_KINDS.join(', ')})` });
      return;
    }
    policy.rules[kind] = { kind, action: action as CompensationAction, byAction, shadow: r.shadow === true };
  });
  return { policy, problems };
}

/** The section validator for src/policy (paths from the file root; the line is found there). */
export function validateCompensationSection(value: unknown): readonly PolicyProblem[] {
  return checkCompensationPolicy(value).problems;
}

/** The compensation kind a rule asks for an action name: the longest matching `byAction` entry, else `action`. */
export function compensationKindFor(rule: CompensationRule, actionName: string): CompensationAction {
  let best: { len: number; a: CompensationAction } | undefined;
  for (const [pattern, a] of Object.entries(rule.byAction)) {
    const matches = pattern.endsWith('.*') ? actionName.startsWith(pattern.slice(0, -1)) : actionName === pattern;
    const len = pattern.endsWith('.*') ? pattern.length - 2 : pattern.length + 1; // an exact name beats any prefix of it
    if (matches && (best === undefined || len > best.len)) best = { len, a };
  }
  return best?.a ?? rule.action;
}
