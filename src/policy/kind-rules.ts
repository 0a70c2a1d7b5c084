import { ANOMALY_KINDS, type AnomalyKind } from '../../processors/core/finding.ts';

/** A problem in a policy section, with the dotted path of its field from the file root (src/policy finds the line). */
export interface SectionProblem {
  field: string;
  message: string;
}

/** A YAML mapping (not a list, not a scalar, not null). */
export const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as a policy problem quotes it. */
export const showValue = (v: unknown): string => JSON.stringify(v) ?? String(v);

/**
 * The `rules:` mapping of a policy section, by finding kind (`breakers.rules`, `compensations.rules`):
 * reports a `rules` that is not a mapping, a key that is not a finding kind, a rule that is not a
 * mapping and keys a rule does not know, then hands each rule that is a mapping to `each` with its
 * dotted path, in file order. `what`: what a rule is, for the message on a bad `rules`.
 */
export function forEachKindRule(
  section: string,
  rules: unknown,
  ruleKeys: readonly string[],
  what: string,
  problems: SectionProblem[],
  each: (kind: AnomalyKind, rule: Record<string, unknown>, path: string) => void,
): void {
  if (!isMapping(rules)) {
    problems.push({ field: `${section}.rules`, message: `must be a mapping from finding kind to ${what}` });
    return;
  }
  for (const [kind, r] of Object.entries(rules)) {
    const path = `${section}.rules.${kind}`;
    if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) {
      problems.push({ field: path, message: `unknown finding kind (known: ${ANOMALY_KINDS.join(', ')})` });
      continue;
    }
    if (!isMapping(r)) {
      problems.push({ field: path, message: `must be a mapping of ${ruleKeys.join(', ')}` });
      continue;
    }
    for (const k of Object.keys(r)) if (!ruleKeys.includes(k)) problems.push({ field: `${path}.${k}`, message: `unknown key (known: ${ruleKeys.join(', ')})` });
    each(kind as AnomalyKind, r, path);
  }
}
