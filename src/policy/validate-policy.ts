import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Detector, Params } from '../../processors/core/detector.ts';
import { SEVERITIES, type Severity } from '../../processors/core/finding.ts';
import { RULE_MODES, type RuleMatch, type RuleMode, type RuleOverride, type RuleSpec } from '../../processors/engine/rule-set.ts';
import type { EventTimeBounds } from '../../processors/engine/event-time-guard.ts';
import type { PolicyProblem } from './policy-error.ts';

/** A validated policy document, before it is compiled into a RuleSet. */
export interface PolicyDocument {
  latenessMs: number | undefined;
  /** The `eventTime:` section: bounds on what one event's clock can do (missing keys: the defaults). */
  eventTime: Partial<EventTimeBounds>;
  rules: Record<string, RuleSpec>;
  overrides: RuleOverride[];
  /** Other top-level sections (e.g. `breakers`), as plain data, checked by their section validators. */
  sections: Record<string, unknown>;
}

/**
 * Checks another module's top-level section (e.g. `breakers`). Returns problems with field paths
 * relative to the file root (e.g. `breakers.vendor.failureThreshold`); the line is looked up for you.
 */
export type SectionValidator = (value: unknown) => readonly { field: string; message: string }[];

const ROOT_KEYS = ['latenessMs', 'eventTime', 'detectors', 'overrides'];
/** `eventTime:` keys, each a whole number within its range. */
const EVENT_TIME_KEYS: Record<keyof EventTimeBounds, { min: number; max: number; unit: string }> = {
  maxFutureSkewMs: { min: 1000, max: 366 * 86_400_000, unit: 'ms' },
  maxPastMs: { min: 1000, max: 3660 * 86_400_000, unit: 'ms' },
  jumpQuorum: { min: 1, max: 1000, unit: 'events' },
};
const RULE_KEYS = ['mode', 'severity', 'params'];
const OVERRIDE_KEYS = ['name', 'match', 'detectors'];
const MATCH_KEYS = ['env', 'plan', 'agent', 'vendor'];
/** Sections other modules own; accepted as they are until their validator is registered. */
const KNOWN_SECTIONS = ['breakers', 'compensations', 'notifications'];

/**
 * Parses and validates a policy file's text. Every problem is collected, with its line (yaml's
 * LineCounter) and dotted field path; unknown keys are problems too, so a typo never passes silently.
 */
export function validatePolicy(
  text: string,
  file: string,
  detectors: readonly Detector<any, any>[],
  sectionValidators: Readonly<Record<string, SectionValidator>> = {},
): { doc: PolicyDocument; problems: PolicyProblem[] } {
  const lc = new LineCounter();
  const ydoc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const problems: PolicyProblem[] = [];
  const lineOf = (n: Node | null | undefined): number => (n?.range ? lc.linePos(n.range[0]).line : 0);
  const report = (n: Node | null | undefined, field: string, message: string) => problems.push({ file, line: lineOf(n), field, message });
  const out: PolicyDocument = { latenessMs: undefined, eventTime: {}, rules: {}, overrides: [], sections: {} };

  for (const err of ydoc.errors) {
    problems.push({ file, line: err.linePos?.[0].line ?? 0, field: '', message: `invalid YAML: ${err.message.split('\n')[0]}` });
  }
  if (problems.length > 0) return { doc: out, problems };

  const root = ydoc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return { doc: out, problems }; // empty file: all defaults
  if (!isMap(root)) {
    report(root, '', `must be a mapping with ${ROOT_KEYS.join(', ')}`);
    return { doc: out, problems };
  }
  const byKind = new Map(detectors.map((d) => [d.kind as string, d]));
  const known = [...ROOT_KEYS, ...KNOWN_SECTIONS, ...Object.keys(sectionValidators)];

  for (const pair of root.items) {
    const key = keyOf(pair.key);
    const value = pair.value as Node | null;
    const keyNode = pair.key as Node;
    if (key === 'latenessMs') {
      const v = scalar(value);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) report(value ?? keyNode, 'latenessMs', `must be a whole number of ms ≥ 0, got ${show(v)}`);
      else out.latenessMs = v;
    } else if (key === 'eventTime') {
      out.eventTime = eventTimeOf(value ?? keyNode);
    } else if (key === 'detectors') {
      out.rules = rulesOf(value ?? keyNode, 'detectors');
    } else if (key === 'overrides') {
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (!isSeq(value)) {
        report(value, 'overrides', 'must be a list of { match, detectors }');
        continue;
      }
      value.items.forEach((item, i) => {
        const o = overrideOf(item as Node, `overrides[${i}]`);
        if (o) out.overrides.push(o);
      });
    } else if (known.includes(key)) {
      const plain = value === null ? null : (value.toJSON() as unknown);
      out.sections[key] = plain;
      const validator = sectionValidators[key];
      if (validator) for (const p of validator(plain)) report(nodeAt(ydoc, p.field) ?? value ?? keyNode, p.field, p.message);
    } else {
      report(keyNode, key, `unknown key (expected one of ${known.join(', ')})`);
    }
  }
  return { doc: out, problems };

  function eventTimeOf(node: Node): Partial<EventTimeBounds> {
    const bounds: { -readonly [K in keyof EventTimeBounds]?: number } = {};
    if (isScalar(node) && node.value === null) return bounds;
    if (!isMap(node)) {
      report(node, 'eventTime', `must be a mapping with ${Object.keys(EVENT_TIME_KEYS).join(', ')}`);
      return bounds;
    }
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      const range = EVENT_TIME_KEYS[key as keyof EventTimeBounds];
      if (!range) {
        report(pair.key as Node, `eventTime.${key}`, `unknown key (expected one of ${Object.keys(EVENT_TIME_KEYS).join(', ')})`);
        continue;
      }
      const v = scalar(pair.value as Node | null);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range.min || v > range.max) {
        report((pair.value as Node | null) ?? (pair.key as Node), `eventTime.${key}`, `must be a whole number of ${range.unit} from ${range.min} to ${range.max}, got ${show(v)}`);
      } else {
        bounds[key as keyof EventTimeBounds] = v;
      }
    }
    return bounds;
  }

  function rulesOf(node: Node, path: string): Record<string, RuleSpec> {
    const rules: Record<string, RuleSpec> = {};
    if (isScalar(node) && node.value === null) return rules;
    if (!isMap(node)) {
      report(node, path, 'must be a mapping of detector kind to { mode, severity, params }');
      return rules;
    }
    for (const pair of node.items) {
      const kind = keyOf(pair.key);
      const d = byKind.get(kind);
      if (!d) {
        report(pair.key as Node, `${path}.${kind}`, `unknown detector (known: ${[...byKind.keys()].join(', ')})`);
        continue;
      }
      const spec = ruleOf(pair.value as Node | null, d, `${path}.${kind}`, pair.key as Node);
      if (spec) rules[kind] = spec;
    }
    return rules;
  }

  function ruleOf(node: Node | null, d: Detector<any, any>, path: string, keyNode: Node): RuleSpec | undefined {
    if (node === null || (isScalar(node) && node.value === null)) return {};
    if (!isMap(node)) {
      report(node ?? keyNode, path, `must be a mapping with ${RULE_KEYS.join(', ')}`);
      return undefined;
    }
    const spec: RuleSpec = {};
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      const value = pair.value as Node | null;
      const at = value ?? (pair.key as Node);
      if (key === 'mode') {
        const v = scalar(value);
        if (typeof v === 'string' && (RULE_MODES as readonly string[]).includes(v)) spec.mode = v as RuleMode;
        else report(at, `${path}.mode`, `must be one of ${RULE_MODES.join(', ')}, got ${show(v)}`);
      } else if (key === 'severity') {
        const v = scalar(value);
        if (typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v)) spec.severity = v as Severity;
        else report(at, `${path}.severity`, `must be one of ${SEVERITIES.join(', ')}, got ${show(v)}`);
      } else if (key === 'params') {
        const params = paramsOf(value, d, `${path}.params`, pair.key as Node);
        if (params) spec.params = params;
      } else {
        report(pair.key as Node, `${path}.${key}`, `unknown key (expected one of ${RULE_KEYS.join(', ')})`);
      }
    }
    return spec;
  }

  function paramsOf(node: Node | null, d: Detector<any, any>, path: string, keyNode: Node): Params | undefined {
    if (node === null || (isScalar(node) && node.value === null)) return {};
    if (!isMap(node)) {
      report(node ?? keyNode, path, 'must be a mapping of parameter name to value');
      return undefined;
    }
    const params: Params = {};
    const defaults = d.defaults as Params;
    for (const pair of node.items) {
      const name = keyOf(pair.key);
      const field = `${path}.${name}`;
      if (!Object.hasOwn(defaults, name)) {
        report(pair.key as Node, field, `unknown parameter of ${d.kind} (known: ${Object.keys(defaults).join(', ') || 'none'})`);
        continue;
      }
      const value = pair.value as Node | null;
      const v = scalar(value);
      const problem = checkParam(name, defaults[name]!, v);
      if (problem) report(value ?? (pair.key as Node), field, `${problem}, got ${show(v)}`);
      else params[name] = v as number | string | boolean;
    }
    return params;
  }

  function overrideOf(node: Node, path: string): RuleOverride | undefined {
    if (!isMap(node)) {
      report(node, path, 'must be a mapping with match and detectors');
      return undefined;
    }
    let match: RuleMatch | undefined;
    let rules: Record<string, RuleSpec> = {};
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      const value = pair.value as Node | null;
      if (key === 'name') {
        if (typeof scalar(value) !== 'string') report(value ?? (pair.key as Node), `${path}.name`, `must be a string, got ${show(scalar(value))}`);
      } else if (key === 'match') {
        match = matchOf(value, `${path}.match`, pair.key as Node);
      } else if (key === 'detectors') {
        rules = rulesOf(value ?? (pair.key as Node), `${path}.detectors`);
      } else {
        report(pair.key as Node, `${path}.${key}`, `unknown key (expected one of ${OVERRIDE_KEYS.join(', ')})`);
      }
    }
    if (!node.has('match')) report(node, `${path}.match`, `is required (one or more of ${MATCH_KEYS.join(', ')})`);
    return match ? { match, detectors: rules } : undefined;
  }

  function matchOf(node: Node | null, path: string, keyNode: Node): RuleMatch | undefined {
    if (!isMap(node) || node.items.length === 0) {
      report(node ?? keyNode, path, `must be a mapping with one or more of ${MATCH_KEYS.join(', ')}`);
      return undefined;
    }
    const m: Record<string, string> = {};
    let ok = true;
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      const v = scalar(pair.value as Node | null);
      if (!MATCH_KEYS.includes(key)) {
        report(pair.key as Node, `${path}.${key}`, `unknown match field (expected one of ${MATCH_KEYS.join(', ')})`);
        ok = false;
      } else if (typeof v !== 'string' || v === '') {
        report((pair.value as Node | null) ?? (pair.key as Node), `${path}.${key}`, `must be a non-empty string, got ${show(v)}`);
        ok = false;
      } else {
        m[key] = v;
      }
    }
    return ok ? m : undefined;
  }
}

/**
 * The type and range a parameter must have, read from its default and name: `…Ms` is a duration
 * (> 0); a default between 0 and 1, or a name ending in Ratio/Rate/Share, is a ratio (0..1); an
 * integer default ≥ 1 is a count (≥ 1); other numbers ≥ 0; booleans and strings keep their type.
 */
export function checkParam(name: string, def: number | string | boolean, v: unknown): string | undefined {
  if (typeof def === 'boolean') return typeof v === 'boolean' ? undefined : 'must be true or false';
  if (typeof def === 'string') return typeof v === 'string' ? undefined : 'must be a string';
  const isNum = typeof v === 'number' && Number.isFinite(v);
  if (/Ms$/.test(name)) return isNum && (v as number) > 0 ? undefined : 'must be a duration in ms > 0';
  if ((def > 0 && def < 1) || /(Ratio|Rate|Share|Fraction)$/i.test(name)) {
    return isNum && (v as number) >= 0 && (v as number) <= 1 ? undefined : 'must be a number from 0 to 1';
  }
  if (Number.isInteger(def) && def >= 1) return isNum && (v as number) >= 1 ? undefined : 'must be a number ≥ 1';
  return isNum && (v as number) >= 0 ? undefined : 'must be a number ≥ 0';
}

function keyOf(k: unknown): string {
  return isScalar(k) ? String(k.value) : String(k);
}

function scalar(n: Node | null | undefined): unknown {
  if (n === null || n === undefined) return null;
  if (isScalar(n)) return n.value;
  return n.toJSON();
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  return JSON.stringify(v);
}

function nodeAt(doc: Document, field: string): Node | undefined {
  const path = field.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node) return node;
  }
  return undefined;
}
