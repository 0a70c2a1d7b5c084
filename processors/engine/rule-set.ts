import type { Detector, Params } from '../core/detector.ts';
import type { ValidEvent } from '../core/events.ts';
import type { AnomalyKind, Severity } from '../core/finding.ts';
import { NO_EVENT_TIME_BOUNDS, type EventTimeBounds } from './event-time-guard.ts';

/** How a rule runs: `shadow` findings are counted and reported but cause no action. */
export type RuleMode = 'enabled' | 'disabled' | 'shadow';
export const RULE_MODES: readonly RuleMode[] = ['enabled', 'disabled', 'shadow'];

/** One detector's rule, fully resolved for one event (its plan, agent and vendor). */
export interface ResolvedRule {
  readonly ruleId: string;
  readonly mode: 'enabled' | 'shadow';
  /** The policy's severity; undefined means the detector's own. */
  readonly severity: Severity | undefined;
  readonly params: Params;
}

/** A partial rule as a policy states it, for the base rules or an override. */
export interface RuleSpec {
  mode?: RuleMode;
  severity?: Severity;
  params?: Params;
}

/** What an override matches on; an absent field matches anything. `env` is decided when the rule set is built. */
export interface RuleMatch {
  env?: string;
  plan?: string;
  agent?: string;
  vendor?: string;
}

export interface RuleOverride {
  match: RuleMatch;
  detectors: Partial<Record<string, RuleSpec>>;
}

/**
 * The rules the engine runs by, built for one list of detectors (indexes follow that list). Resolution
 * is cached per (plan, agent, vendor), so the per-event cost is one Map lookup.
 */
export interface RuleSet {
  readonly version: string;
  /** Allowed lateness (ms): watermark = highest occurredAt seen − lateness. */
  readonly latenessMs: number;
  /** What one event's clock may do to event time (hostile clocks): see EventTimeGuard. */
  readonly eventTime: EventTimeBounds;
  /** The detector kinds, in the order the rules are indexed. */
  readonly kinds: readonly AnomalyKind[];
  /** Key of the rules that apply to this event (stored with a slice so its timers resolve alike). */
  matchKey(e: ValidEvent): string;
  /** Rules per detector index for a match key; undefined where the rule is disabled. */
  rulesFor(matchKey: string): readonly (ResolvedRule | undefined)[];
  /** Longest numeric `…Ms` parameter of any rule: how long an eventId must be remembered for dedupe. */
  readonly longestWindowMs: number;
}

export interface RuleSetInput {
  detectors: readonly Detector<any, any>[];
  version?: string;
  latenessMs?: number;
  /**
   * Bounds on event time. Default: none (NO_EVENT_TIME_BOUNDS), for engine tests; a policy always gives
   * them (its `eventTime:` section over DEFAULT_EVENT_TIME_BOUNDS).
   */
  eventTime?: Partial<EventTimeBounds>;
  /** Environment the monitor runs in; overrides matching another env are dropped. */
  env?: string;
  /** Base rule per detector kind; missing kinds run enabled with the detector's defaults. */
  rules?: Partial<Record<string, RuleSpec>>;
  /** Applied from least to most specific (count of match fields); equal specificity: later wins. */
  overrides?: readonly RuleOverride[];
}

export const DEFAULT_LATENESS_MS = 5000;
const SEP = '\u0001';
const CACHE_LIMIT = 10_000;

/**
 * Builds a RuleSet. Precedence, weakest first: the detector's defaults, the base rule, then matching
 * overrides by specificity (env, plan, agent, vendor fields present), later in the list winning ties.
 */
export function createRuleSet(input: RuleSetInput): RuleSet {
  const detectors = input.detectors;
  const kinds = detectors.map((d) => d.kind);
  const latenessMs = input.latenessMs ?? DEFAULT_LATENESS_MS;
  const eventTime: EventTimeBounds = Object.freeze({ ...NO_EVENT_TIME_BOUNDS, ...input.eventTime });
  const env = input.env;
  const overrides = (input.overrides ?? [])
    .map((o, i) => ({ o, i, spec: specificity(o.match) }))
    .filter(({ o }) => o.match.env === undefined || o.match.env === env)
    .sort((a, b) => a.spec - b.spec || a.i - b.i)
    .map(({ o }) => o);

  const resolve = (plan: string | undefined, agent: string, vendor: string | undefined): (ResolvedRule | undefined)[] =>
    detectors.map((d) => {
      let mode = 'enabled' as RuleMode;
      let severity: Severity | undefined;
      const params: Params = { ...d.defaults };
      const apply = (s: RuleSpec | undefined) => {
        if (!s) return;
        if (s.mode) mode = s.mode;
        if (s.severity) severity = s.severity;
        if (s.params) Object.assign(params, s.params);
      };
      apply(input.rules?.[d.kind]);
      for (const o of overrides) {
        const m = o.match;
        if (m.plan !== undefined && m.plan !== plan) continue;
        if (m.agent !== undefined && m.agent !== agent) continue;
        if (m.vendor !== undefined && m.vendor !== vendor) continue;
        apply(o.detectors[d.kind]);
      }
      if (mode === 'disabled') return undefined;
      return Object.freeze({ ruleId: d.kind, mode, severity, params: Object.freeze(params) });
    });

  let longestWindowMs = 0;
  const noteWindows = (p: Params | undefined) => {
    for (const [k, v] of Object.entries(p ?? {})) if (/Ms$/.test(k) && typeof v === 'number' && v > longestWindowMs) longestWindowMs = v;
  };
  for (const d of detectors) noteWindows(d.defaults);
  for (const r of Object.values(input.rules ?? {})) noteWindows(r?.params);
  for (const o of overrides) for (const r of Object.values(o.detectors)) noteWindows(r?.params);

  const version = input.version ?? 'p-default';
  if (overrides.length === 0) {
    // No override: every event gets the same rules, no key to build.
    const only = resolve(undefined, '', undefined);
    return { version, latenessMs, eventTime, kinds, longestWindowMs, matchKey: () => '', rulesFor: () => only };
  }
  const usesPlan = overrides.some((o) => o.match.plan !== undefined);
  const usesAgent = overrides.some((o) => o.match.agent !== undefined);
  const usesVendor = overrides.some((o) => o.match.vendor !== undefined);
  const cache = new Map<string, (ResolvedRule | undefined)[]>();
  return {
    version,
    latenessMs,
    eventTime,
    kinds,
    longestWindowMs,
    matchKey(e) {
      return (usesPlan ? (e.plan ?? '') : '') + SEP + (usesAgent ? e.agentId : '') + SEP + (usesVendor ? (e.action?.vendor ?? '') : '');
    },
    rulesFor(key) {
      let rules = cache.get(key);
      if (rules === undefined) {
        const [plan, agent, vendor] = key.split(SEP);
        rules = resolve(plan || undefined, agent ?? '', vendor || undefined);
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(key, rules);
      }
      return rules;
    },
  };
}

function specificity(m: RuleMatch): number {
  return (m.env !== undefined ? 1 : 0) + (m.plan !== undefined ? 1 : 0) + (m.agent !== undefined ? 1 : 0) + (m.vendor !== undefined ? 1 : 0);
}
