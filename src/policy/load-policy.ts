import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Detector } from '../../processors/core/detector.ts';
import { createRuleSet, type RuleSet } from '../../processors/engine/rule-set.ts';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../../processors/engine/event-time-guard.ts';
import { PolicyError } from './policy-error.ts';
import { validatePolicy, type PolicyDocument, type SectionValidator } from './validate-policy.ts';

/** A loaded, valid policy: the rules the engine runs by, plus the other modules' sections. */
export interface Policy {
  /** `p-<first 12 hex of sha256 of the file content>`: the same file always gives the same version. */
  readonly version: string;
  readonly file: string;
  readonly rules: RuleSet;
  readonly document: PolicyDocument;
  /** Other top-level sections by name (e.g. `breakers`), validated by their section validators. */
  readonly sections: Readonly<Record<string, unknown>>;
}

export interface PolicyOptions {
  detectors: readonly Detector<any, any>[];
  /** The environment the monitor runs in (config `env`): overrides matching another env are ignored. */
  env?: string;
  /** Validators for top-level sections other modules own, e.g. { breakers: validateBreakerSection }. */
  sectionValidators?: Readonly<Record<string, SectionValidator>>;
}

/** The version of a policy text. */
export function policyVersionOf(text: string): string {
  return 'p-' + createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * Validates a policy's text and compiles its rules.
 * @throws PolicyError naming file, line and field of every problem.
 */
export function parsePolicy(text: string, file: string, opts: PolicyOptions): Policy {
  const { doc, problems } = validatePolicy(text, file, opts.detectors, opts.sectionValidators);
  if (problems.length > 0) throw new PolicyError(problems);
  const version = policyVersionOf(text);
  const rules = createRuleSet({
    detectors: opts.detectors,
    version,
    ...(doc.latenessMs !== undefined ? { latenessMs: doc.latenessMs } : {}),
    eventTime: { ...DEFAULT_EVENT_TIME_BOUNDS, ...doc.eventTime },
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    rules: doc.rules,
    overrides: doc.overrides,
  });
  return Object.freeze({ version, file, rules, document: doc, sections: Object.freeze({ ...doc.sections }) });
}

/**
 * Reads and validates a policy file.
 * @throws PolicyError when the file cannot be read or is invalid.
 */
export function loadPolicyFile(path: string, opts: PolicyOptions): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PolicyError([{ file: path, line: 0, field: '', message: `cannot be read: ${(e as Error).message}` }]);
  }
  return parsePolicy(text, path, opts);
}

/** The policy when no file is given: every detector enabled at its defaults. */
export function defaultPolicy(opts: PolicyOptions): Policy {
  return parsePolicy('', '(defaults)', opts);
}
