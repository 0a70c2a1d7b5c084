import type { AnomalyKind } from '../../processors/core/finding.ts';
import { VigilError } from '../errors/vigil-error.ts';
import { BREAKER_SCOPES, DEFAULT_SETTINGS } from './state.ts';
import type { BreakerScope, BreakerSettings } from './state.ts';
import { forEachKindRule, isMapping as isObj, showValue as show } from '../policy/kind-rules.ts';

/**
 * The `breakers:` section of the policy file, pure: which finding kinds trip which scope, for how long
 * and with which backoff, and how many half-open trials. Example:
 *
 * ```yaml
 * breakers:
 *   defaults: { baseMs: 30000, capMs: 900000, jitter: 0.2, trials: 3, trialTimeoutMs: 30000 }
 *   rules:
 *     vendor_failure_rate: { scope: vendor, quorum: { min: 2, of: agents } }
 *     retry_spike: { scope: agent, baseMs: 60000 }
 *     unmasked_pii: { scope: agent, shadow: true }
 *     runaway_agent: { enabled: false }
 * ```
 * `rules` is merged over the default rules by kind. A rule may override any of the defaults. A shadow
 * rule trips nothing (its trips are reported as shadow). `quorum` (vendor rules only): open the vendor
 * only when at least `min` distinct agents (or users) saw the failure, otherwise open those agents (users).
 */
export interface BreakerRule {
  kind: AnomalyKind;
  scope: BreakerScope;
  enabled: boolean;
  shadow: boolean;
  settings: BreakerSettings;
  quorum: { min: number; of: 'agents' | 'users' } | null;
}

export interface BreakerPolicy {
  defaults: BreakerSettings;
  rules: Partial<Record<AnomalyKind, BreakerRule>>;
}

/** The default rules (issue 4, item 3). */
export const DEFAULT_RULE_SCOPES: Partial<Record<AnomalyKind, BreakerScope>> = {
  vendor_failure_rate: 'vendor',
  retry_spike: 'agent',
  confirmation_failure_spike: 'agent',
  duplicate_action: 'user',
  runaway_agent: 'user',
  action_after_consent_revoked: 'user',
};

export interface BreakerPolicyProblem {
  /** Dotted path from the file root, e.g. `breakers.rules.retry_spike.scope`. */
  field: string;
  message: string;
}

/** An invalid `breakers:` section; the message names every bad field (with its place, from `at`). */
export class BreakerPolicyError extends VigilError {
  readonly problems: readonly BreakerPolicyProblem[];
  constructor(problems: readonly BreakerPolicyProblem[], at: (path: string) => string) {
    super(problems.map((p) => `${at(p.field)}: ${p.field}: ${p.message}`).join('\n'), { retriable: false });
    this.problems = problems;
  }
}

const SETTING_KEYS = ['baseMs', 'capMs', 'jitter', 'trials', 'trialTimeoutMs'] as const;
const RULE_KEYS = ['scope', 'enabled', 'shadow', 'quorum', ...SETTING_KEYS];

function settingsOf(raw: Record<string, unknown>, base: BreakerSettings, path: string, problems: BreakerPolicyProblem[]): BreakerSettings {
  const s = { ...base };
  const int = (k: 'baseMs' | 'capMs' | 'trials' | 'trialTimeoutMs', min: number, max: number) => {
    if (raw[k] === undefined) return;
    const v = raw[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) problems.push({ field: `${path}.${k}`, message: `must be a whole number from ${min} to ${max}, got ${show(v)}` });
    else s[k] = v;
  };
  int('baseMs', 1, 7 * 86_400_000);
  int('capMs', 1, 30 * 86_400_000);
  int('trials', 1, 1000);
  int('trialTimeoutMs', 1, 86_400_000);
  if (raw.jitter !== undefined) {
    const v = raw.jitter;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) problems.push({ field: `${path}.jitter`, message: `must be a number from 0 to 1, got ${show(v)}` });
    else s.jitter = v;
  }
  if (s.capMs < s.baseMs) problems.push({ field: `${path}.capMs`, message: `must be ≥ baseMs (${s.baseMs}), got ${s.capMs}` });
  return s;
}

/** Validates the section and collects every problem; the policy is only meaningful without problems. */
export function checkBreakerPolicy(raw: unknown): { policy: BreakerPolicy; problems: BreakerPolicyProblem[] } {
  const problems: BreakerPolicyProblem[] = [];
  const policy: BreakerPolicy = { defaults: { ...DEFAULT_SETTINGS }, rules: {} };
  const section = raw ?? {};
  if (!isObj(section)) {
    problems.push({ field: 'breakers', message: `must be a mapping with defaults and rules, got ${show(raw)}` });
    return { policy, problems };
  }
  for (const k of Object.keys(section)) {
    if (k !== 'defaults' && k !== 'rules') problems.push({ field: `breakers.${k}`, message: 'unknown key (known: defaults, rules)' });
  }
  if (section.defaults !== undefined && section.defaults !== null) {
    if (!isObj(section.defaults)) problems.push({ field: 'breakers.defaults', message: `must be a mapping of ${SETTING_KEYS.join(', ')}` });
    else {
      for (const k of Object.keys(section.defaults)) {
        if (!(SETTING_KEYS as readonly string[]).includes(k)) problems.push({ field: `breakers.defaults.${k}`, message: `unknown key (known: ${SETTING_KEYS.join(', ')})` });
      }
      policy.defaults = settingsOf(section.defaults, DEFAULT_SETTINGS, 'breakers.defaults', problems);
    }
  }
  for (const [kind, scope] of Object.entries(DEFAULT_RULE_SCOPES)) {
    policy.rules[kind as AnomalyKind] = { kind: kind as AnomalyKind, scope, enabled: true, shadow: false, settings: { ...policy.defaults }, quorum: null };
  }
  forEachKindRule('breakers', section.rules ?? {}, RULE_KEYS, 'rule', problems, (kind, r, path) => {
    const prev = policy.rules[kind];
    const scope = r.scope ?? prev?.scope;
    if (!(BREAKER_SCOPES as readonly unknown[]).includes(scope)) {
      problems.push({ field: `${path}.scope`, message: `must be one of ${BREAKER_SCOPES.join(', ')}, got ${show(r.scope)}` });
      return;
    }
    const flag = (k: 'enabled' | 'shadow', d: boolean): boolean => {
      if (r[k] === undefined) return d;
      if (typeof r[k] !== 'boolean') problems.push({ field: `${path}.${k}`, message: `must be true or false, got ${show(r[k])}` });
      return r[k] === true;
    };
    let quorum: BreakerRule['quorum'] = null;
    if (r.quorum !== undefined && r.quorum !== null) {
      const q = r.quorum;
      if (scope !== 'vendor') problems.push({ field: `${path}.quorum`, message: `applies to vendor rules only (this rule's scope is ${show(scope)})` });
      if (!isObj(q)) problems.push({ field: `${path}.quorum`, message: 'must be { min: K, of: agents | users }' });
      else {
        for (const k of Object.keys(q)) if (k !== 'min' && k !== 'of') problems.push({ field: `${path}.quorum.${k}`, message: 'unknown key (known: min, of)' });
        if (typeof q.min !== 'number' || !Number.isInteger(q.min) || q.min < 1) problems.push({ field: `${path}.quorum.min`, message: `must be a whole number ≥ 1, got ${show(q.min)}` });
        if (q.of !== 'agents' && q.of !== 'users') problems.push({ field: `${path}.quorum.of`, message: `must be agents or users, got ${show(q.of)}` });
        quorum = { min: Number(q.min), of: q.of === 'users' ? 'users' : 'agents' };
      }
    }
    policy.rules[kind] = {
      kind,
      scope: scope as BreakerScope,
      enabled: flag('enabled', true),
      shadow: flag('shadow', false),
      settings: settingsOf(r, policy.defaults, path, problems),
      quorum,
    };
  });
  return { policy, problems };
}

/**
 * Parses the `breakers:` section (undefined: all defaults).
 * @param at the place of a dotted field path in the policy file, e.g. `vigil.policy.yaml:12`.
 * @throws BreakerPolicyError naming every bad field.
 */
export function parseBreakerPolicy(raw: unknown, at: (path: string) => string): BreakerPolicy {
  const { policy, problems } = checkBreakerPolicy(raw);
  if (problems.length > 0) throw new BreakerPolicyError(problems, at);
  return deepFreeze(policy);
}

/** The section validator for src/policy (problems with paths from the file root; the line is found there). */
export function validateBreakerSection(value: unknown): readonly BreakerPolicyProblem[] {
  return checkBreakerPolicy(value).problems;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
