import { ANOMALY_KINDS, SCOPE_TYPES, SEVERITIES, type Finding, type Severity } from '../../processors/core/finding.ts';

/**
 * The `notifications:` section of the policy file, pure: who hears about which incident, and when.
 * An incident is one anomaly kind on one scope (e.g. duplicate_action on user u_4f2a); its findings
 * are grouped into one e-mail and one Alertmanager alert. Example:
 *
 * ```yaml
 * notifications:
 *   minSeverity: warning        # findings below it notify nobody
 *   groupWaitMs: 10000          # the first e-mail waits this long to gather the incident's findings
 *   reminderMs: 3600000         # a reminder this often while the incident stays open
 *   resolveQuietMs: 1800000     # an incident without a breaker resolves after this long with no finding
 *   alertRepushMs: 60000        # an open incident is pushed to Alertmanager again this often
 *   routes:                     # every matching route adds its groups; none matching: oncall
 *     - match: { severity: critical }
 *       to: [oncall, pager]
 *     - match: { kind: compensation_failed, scope: vendor, scopeId: [acme-air] }
 *       to: [payments]
 * ```
 * Recipient groups name addresses in the configuration (`smtp.to` is the group `oncall`, others come
 * from `smtp.recipients`): a policy file, and event data, never hold an address. Times are wall clock.
 */
export interface NotificationRoute {
  match: { severity?: Severity[]; kind?: string[]; scope?: string[]; scopeId?: string[] };
  to: string[];
}

export interface NotificationPolicy {
  minSeverity: Severity;
  groupWaitMs: number;
  reminderMs: number;
  resolveQuietMs: number;
  alertRepushMs: number;
  routes: NotificationRoute[];
}

export const DEFAULT_NOTIFICATION_POLICY: Readonly<NotificationPolicy> = Object.freeze({
  minSeverity: 'warning',
  groupWaitMs: 10_000,
  reminderMs: 3_600_000,
  resolveQuietMs: 1_800_000,
  alertRepushMs: 60_000,
  routes: [],
});

/** The recipient group of `smtp.to`. */
export const ONCALL_GROUP = 'oncall';

export interface PolicyProblem {
  field: string;
  message: string;
}

const ROOT_KEYS = ['minSeverity', 'groupWaitMs', 'reminderMs', 'resolveQuietMs', 'alertRepushMs', 'routes'];
const MATCH_KEYS = ['severity', 'kind', 'scope', 'scopeId'];
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/**
 * Validates the section (undefined: all defaults) and collects every problem.
 * @param groups the recipient groups the configuration defines; undefined: names are not checked (replay).
 */
export function checkNotificationPolicy(raw: unknown, groups?: readonly string[]): { policy: NotificationPolicy; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  const policy: NotificationPolicy = { ...DEFAULT_NOTIFICATION_POLICY, routes: [] };
  const section = raw ?? {};
  if (!isObj(section)) {
    problems.push({ field: 'notifications', message: `must be a mapping with ${ROOT_KEYS.join(', ')}, got ${show(raw)}` });
    return { policy, problems };
  }
  for (const k of Object.keys(section)) if (!ROOT_KEYS.includes(k)) problems.push({ field: `notifications.${k}`, message: `unknown key (known: ${ROOT_KEYS.join(', ')})` });
  if (section.minSeverity !== undefined) {
    if (typeof section.minSeverity !== 'string' || !(SEVERITIES as readonly string[]).includes(section.minSeverity)) {
      problems.push({ field: 'notifications.minSeverity', message: `must be one of ${SEVERITIES.join(', ')}, got ${show(section.minSeverity)}` });
    } else policy.minSeverity = section.minSeverity as Severity;
  }
  const ms = (k: 'groupWaitMs' | 'reminderMs' | 'resolveQuietMs' | 'alertRepushMs', min: number, max: number) => {
    const v = section[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) problems.push({ field: `notifications.${k}`, message: `must be a whole number of ms from ${min} to ${max}, got ${show(v)}` });
    else policy[k] = v;
  };
  ms('groupWaitMs', 0, 3_600_000);
  ms('reminderMs', 1000, 7 * 86_400_000);
  ms('resolveQuietMs', 1000, 7 * 86_400_000);
  ms('alertRepushMs', 1000, 3_600_000);
  const routes = section.routes ?? [];
  if (!Array.isArray(routes)) {
    problems.push({ field: 'notifications.routes', message: 'must be a list of { match, to }' });
    return { policy, problems };
  }
  routes.forEach((r, i) => {
    const path = `notifications.routes[${i}]`;
    if (!isObj(r)) {
      problems.push({ field: path, message: 'must be a mapping with match and to' });
      return;
    }
    for (const k of Object.keys(r)) if (k !== 'match' && k !== 'to') problems.push({ field: `${path}.${k}`, message: 'unknown key (known: match, to)' });
    const route: NotificationRoute = { match: {}, to: [] };
    if (r.match !== undefined && r.match !== null) {
      if (!isObj(r.match)) problems.push({ field: `${path}.match`, message: `must be a mapping with one or more of ${MATCH_KEYS.join(', ')}` });
      else {
        for (const [k, v] of Object.entries(r.match)) {
          const field = `${path}.match.${k}`;
          if (!MATCH_KEYS.includes(k)) {
            problems.push({ field, message: `unknown match field (known: ${MATCH_KEYS.join(', ')})` });
            continue;
          }
          const values = Array.isArray(v) ? v : [v];
          const allowed: readonly string[] | undefined = k === 'severity' ? SEVERITIES : k === 'kind' ? ANOMALY_KINDS : k === 'scope' ? SCOPE_TYPES : undefined;
          const bad = values.find((x) => typeof x !== 'string' || x === '' || (allowed !== undefined && !allowed.includes(x)));
          if (values.length === 0 || bad !== undefined) {
            problems.push({ field, message: `must be ${allowed ? `one or a list of ${allowed.join(', ')}` : 'a non-empty string or a list of them'}, got ${show(bad ?? v)}` });
            continue;
          }
          (route.match as Record<string, string[]>)[k] = values as string[];
        }
      }
    }
    const to = r.to;
    const names = Array.isArray(to) ? to : [to];
    const badName = names.find((x) => typeof x !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(x));
    if (to === undefined || names.length === 0 || badName !== undefined) {
      problems.push({ field: `${path}.to`, message: `must be a recipient group name or a list of them (groups come from the configuration, never addresses here), got ${show(badName ?? to)}` });
    } else {
      for (const n of names as string[]) {
        if (groups !== undefined && !groups.includes(n)) problems.push({ field: `${path}.to`, message: `unknown recipient group "${n}" (the configuration defines: ${groups.join(', ')}; add it to smtp.recipients)` });
      }
      route.to = names as string[];
    }
    policy.routes.push(route);
  });
  return { policy, problems };
}

/** The section validator for src/policy, checking group names against the configured ones. */
export function notificationSectionValidator(groups?: readonly string[]): (value: unknown) => readonly PolicyProblem[] {
  return (value) => checkNotificationPolicy(value, groups).problems;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Whether a finding notifies anyone: not shadow, and at or above the minimum severity. */
export function notifies(f: Pick<Finding, 'shadow' | 'severity'>, policy: NotificationPolicy): boolean {
  return !f.shadow && RANK[f.severity] >= RANK[policy.minSeverity];
}

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The recipient groups of an incident: every matching route's, or `oncall` when none matches. */
export function routeGroups(policy: NotificationPolicy, incident: { kind: string; severity: Severity; scopeType: string; scopeId: string }): string[] {
  const out = new Set<string>();
  for (const r of policy.routes) {
    const m = r.match;
    if (m.severity && !m.severity.includes(incident.severity)) continue;
    if (m.kind && !m.kind.includes(incident.kind)) continue;
    if (m.scope && !m.scope.includes(incident.scopeType)) continue;
    if (m.scopeId && !m.scopeId.includes(incident.scopeId)) continue;
    for (const g of r.to) out.add(g);
  }
  return out.size > 0 ? [...out] : [ONCALL_GROUP];
}
