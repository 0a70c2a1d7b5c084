import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Counter } from 'prom-client';
import type { Finding } from '../../processors/core/finding.ts';
import type { Monitor } from '../app/monitor.ts';
import { BreakerStore } from '../breakers/breaker-store.ts';
import { breakerView, type BreakerView } from '../breakers/view.ts';
import type { InjectedScenario } from '../simulate/scenarios.ts';
import type { VendorAdapterStats } from '../simulate/vendor-adapter.ts';

/** One injected scenario and what vigil found of it. */
export interface ScenarioResult {
  scenario: string;
  kind: string;
  scope: { type: string; id: string };
  /** ms after the demo's command started that the scenario began, and that its first finding came. */
  startedAfterMs: number;
  foundAfterMs: number | undefined;
  findingIds: string[];
}

/** Everything the live view and the final report show, at one moment. */
export interface DemoSnapshot {
  /** ms since the command started. */
  elapsedMs: number;
  trafficMs: number;
  trafficTotalMs: number;
  published: number;
  consumed: number;
  /** Events per second over the last few seconds. */
  publishedPerSecond: number;
  consumedPerSecond: number;
  findings: Finding[];
  findingsByKind: Record<string, number>;
  /** Findings that match no injected scenario: normal traffic should raise none. */
  unexpected: Finding[];
  scenarios: ScenarioResult[];
  /** Breakers not closed now. */
  breakers: BreakerView[];
  /** Breakers that opened during the demo, with why (kept after they close). */
  opened: { scope: string; id: string; kind: string; summary: string }[];
  compensations: { requested: number; succeeded: number; failed: number; answered: number };
  emails: { queued: number; sent: number; failed: number };
  alerts: { sent: number; failed: number } | undefined;
  firstFindingAfterMs: number | undefined;
}

/** The live inputs the snapshots are read from. */
export interface DemoSources {
  startedAt: number;
  monitor: Monitor;
  findings: ReadonlyMap<string, { f: Finding; at: number }>;
  injected: () => readonly InjectedScenario[];
  trafficStart: number;
  trafficTotalMs: number;
  published: () => number;
  adapter: () => VendorAdapterStats | undefined;
  alertmanager: boolean;
}

const matches = (f: Finding, s: { kind: string; scope: { type: string; id: string } }) => f.kind === s.kind && f.scope.type === s.scope.type && f.scope.id === s.scope.id;

/** Reads snapshots of a running demo (breakers from Redis, counts from the monitor's metrics). */
export class DemoState {
  private readonly d: DemoSources;
  private readonly store: BreakerStore;
  private readonly rates: { at: number; published: number; consumed: number }[] = [];
  private readonly opened = new Map<string, { scope: string; id: string; kind: string; summary: string }>();

  constructor(d: DemoSources) {
    this.d = d;
    this.store = new BreakerStore({ redis: d.monitor.redis, keys: d.monitor.keys });
  }

  async snapshot(): Promise<DemoSnapshot> {
    const d = this.d;
    const now = Date.now();
    const published = d.published();
    const consumed = d.monitor.ingest.stats.consumed;
    this.rates.push({ at: now, published, consumed });
    while (this.rates.length > 1 && now - this.rates[0]!.at > 5000) this.rates.shift();
    const r0 = this.rates[0]!;
    const span = Math.max(1, now - r0.at) / 1000;

    const all = [...d.findings.values()].sort((a, b) => a.at - b.at);
    const findings = all.map((x) => x.f);
    const findingsByKind: Record<string, number> = {};
    for (const f of findings) findingsByKind[f.kind] = (findingsByKind[f.kind] ?? 0) + 1;
    const injected = d.injected();
    const scenarios: ScenarioResult[] = injected.map((s) => {
      const mine = all.filter((x) => matches(x.f, s));
      return {
        scenario: s.scenario, kind: s.kind, scope: s.scope, startedAfterMs: s.at - d.startedAt,
        foundAfterMs: mine[0] ? mine[0].at - d.startedAt : undefined, findingIds: mine.map((x) => x.f.findingId),
      };
    });
    const unexpected = findings.filter((f) => !injected.some((s) => matches(f, s)));

    const redisNow = await this.store.now();
    const breakers = (await this.store.list()).map((b) => breakerView(b, redisNow)).filter((b) => b.effectiveState !== 'closed');
    for (const b of breakers) {
      if (b.reason) this.opened.set(`${b.scope}:${b.id}`, { scope: b.scope, id: b.id, kind: b.reason.kind, summary: b.reason.summary });
    }
    const m = d.monitor.observability.metrics.response;
    const comp = await countsBy(m.compensations, 'outcome');
    const mail = await countsBy(m.notifications, 'outcome', { channel: 'email' });
    const alerts = await countsBy(m.notifications, 'outcome', { channel: 'alertmanager' });
    const adapter = d.adapter();
    return {
      elapsedMs: now - d.startedAt,
      trafficMs: Math.max(0, Math.min(d.trafficTotalMs, now - d.trafficStart)),
      trafficTotalMs: d.trafficTotalMs,
      published,
      consumed,
      publishedPerSecond: Math.round((published - r0.published) / span),
      consumedPerSecond: Math.round((consumed - r0.consumed) / span),
      findings,
      findingsByKind,
      unexpected,
      scenarios,
      breakers,
      opened: [...this.opened.values()],
      compensations: { requested: comp.requested ?? 0, succeeded: comp.succeeded ?? 0, failed: (comp.failed ?? 0) + (comp.timed_out ?? 0), answered: adapter ? adapter.succeeded + adapter.failed : 0 },
      emails: { queued: mail.queued ?? 0, sent: mail.sent ?? 0, failed: mail.failed ?? 0 },
      alerts: d.alertmanager ? { sent: alerts.sent ?? 0, failed: alerts.failed ?? 0 } : undefined,
      firstFindingAfterMs: all[0] ? all[0].at - d.startedAt : undefined,
    };
  }
}

/** A counter's values summed by one label, among the series matching `where`. */
async function countsBy(c: Counter<string>, label: string, where: Record<string, string> = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await c.get()).values) {
    if (Object.entries(where).some(([k, x]) => v.labels[k] !== x)) continue;
    const key = String(v.labels[label]);
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/** The .eml files of the SMTP sink's mail dir, written since `since`, addressed to `to`. */
export function mailsTo(mailDir: string, to: string, since: number): string[] {
  if (mailDir === '') return [];
  let names: string[];
  try {
    names = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
  } catch {
    return [];
  }
  const out: string[] = [];
  const buf = Buffer.alloc(8192);
  for (const n of names.sort()) {
    const file = join(mailDir, n);
    try {
      if (statSync(file).mtimeMs < since - 1000) continue;
      const fd = openSync(file, 'r');
      const len = readSync(fd, buf, 0, buf.length, 0);
      closeSync(fd);
      if (buf.subarray(0, len).toString('utf8').includes(to)) out.push(file);
    } catch {
      // a file being written or removed: not ours to count now
    }
  }
  return out;
}
