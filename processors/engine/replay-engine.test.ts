import { describe, expect, it } from 'vitest';
import type { Detector } from '../core/detector.ts';
import type { Finding } from '../core/finding.ts';
import { countRetries, ev, orphans, TEST_DETECTORS } from '../../test/detection/fixtures/test-detectors.ts';
import { createRuleSet } from './rule-set.ts';
import { ReplayEngine, replayAll } from './replay-engine.ts';
import { MinHeap } from './min-heap.ts';
import { SliceRunner } from './slice-runner.ts';
import { EventDedupe } from './event-dedupe.ts';

const retry = (at: number, over = {}) => ev('action.requested', at, { attempt: 2, ...over });

describe('ReplayEngine', () => {
  it('turns a detection into a contract finding', () => {
    const rules = createRuleSet({ detectors: [countRetries], version: 'p-test' });
    const events = [retry(0), retry(1000), retry(2000)];
    const [f, ...rest] = replayAll([countRetries], events, rules);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      kind: 'retry_spike',
      severity: 'warning',
      scope: { type: 'agent', id: 'travel-assistant' },
      detectedAt: '2026-11-20T10:00:02.000Z',
      eventIds: events.map((e) => e.eventId),
      ruleId: 'retry_spike',
      policyVersion: 'p-test',
      shadow: false,
      metrics: { observed: 3, threshold: 3 },
    });
    expect(f!.findingId).toMatch(/^f_[0-9a-f]{32}$/);
  });

  it('carries the detection\'s subjects onto the finding', () => {
    const withSubjects: Detector<{ n: number }> = {
      kind: 'vendor_failure_rate',
      severity: 'warning',
      defaults: {},
      keyOf: (e) => e.eventId,
      init: () => ({ n: 0 }),
      onEvent(s, e, ctx) {
        ctx.emit({ scope: { type: 'vendor', id: 'v' }, eventIds: [e.eventId], detectedAt: e.ts, summary: 's', subjects: { agents: ['a1'], users: ['u1', 'u2'] } });
        return s;
      },
      expiresAt: () => 0,
    };
    const [f] = replayAll([withSubjects], [retry(0)]);
    expect(f!.subjects).toEqual({ agents: ['a1'], users: ['u1', 'u2'] });
    expect(replayAll([countRetries], [retry(0), retry(1), retry(2)])[0]).not.toHaveProperty('subjects');
  });

  it('ignores a redelivered eventId', () => {
    const a = retry(0);
    const b = retry(1000);
    const out: Finding[] = [];
    const engine = new ReplayEngine({ detectors: [countRetries], onFinding: (f) => out.push(f) });
    for (const e of [a, b, a, b, a]) engine.push(e);
    engine.finish();
    expect(out).toEqual([]);
    expect(engine.stats).toEqual({ events: 2, duplicates: 3, findings: 0, outOfBounds: 0, heldAtEnd: 0, undecided: 0 });
  });

  it('waits for the watermark before settling an absence, and settles the rest at the end', () => {
    const out: Finding[] = [];
    const engine = new ReplayEngine({ detectors: [orphans], onFinding: (f) => out.push(f) });
    const req = ev('action.requested', 0, { intentId: 'i-a' });
    engine.push(req);
    engine.push(ev('intent.parsed', 300_000, { intentId: 'i-x' })); // watermark 295 s: not due yet
    engine.push(ev('intent.parsed', 304_999, { intentId: 'i-x' }));
    expect(out).toEqual([]);
    engine.push(ev('intent.parsed', 305_000, { intentId: 'i-x' })); // watermark reaches 300 s
    expect(out.map((f) => f.eventIds)).toEqual([[req.eventId]]);
    const late = ev('action.requested', 400_000, { intentId: 'i-b' });
    engine.push(late);
    expect(out).toHaveLength(1);
    engine.finish();
    expect(out.map((f) => f.eventIds)).toEqual([[req.eventId], [late.eventId]]);
  });

  it('at the end, decisions not due by the last watermark are undecided; one a late event filed already due is a finding', () => {
    const found: string[] = [];
    const undecided: string[] = [];
    const engine = new ReplayEngine({ detectors: [orphans], onFinding: (f) => found.push(...f.eventIds) });
    const recent = ev('action.requested', 390_000, { intentId: 'i-recent' }); // due 690 s: not by the end
    const late = ev('action.requested', 10_000, { intentId: 'i-late' }); // due 310 s: long past when it comes
    for (const e of [ev('intent.parsed', 0, { intentId: 'i-x' }), recent, ev('intent.parsed', 400_000, { intentId: 'i-x' }), late]) engine.push(e);
    engine.finish({ undecided: (f) => undecided.push(...f.eventIds) });
    expect(found).toEqual([late.eventId]);
    expect(undecided).toEqual([recent.eventId]);
    expect(engine.stats).toMatchObject({ findings: 1, undecided: 1 });
  });

  it('a late outcome within the lateness cancels the pending decision', () => {
    const req = ev('action.requested', 0, { intentId: 'i-a' });
    const out = replayAll([orphans], [req, ev('intent.parsed', 302_000, { intentId: 'i-x' }), ev('action.succeeded', 299_000, { intentId: 'i-a' })]);
    expect(out).toEqual([]);
  });

  it('drops expired slices so memory stays flat under many distinct keys', () => {
    const engine = new ReplayEngine({ detectors: TEST_DETECTORS, onFinding: () => {} });
    let peak = 0;
    for (let i = 0; i < 20_000; i++) {
      engine.push(ev('action.requested', i * 1000, { agentId: `agent-${i}`, intentId: `i-${i}`, attempt: 2 }));
      if (i % 1000 === 0) peak = Math.max(peak, engine.memory.slices);
    }
    // ~10 min of action slices and 1 min of agent slices live at a time, not 40,000
    expect(peak).toBeLessThan(1_000 + 200);
    expect(engine.memory.eventIds).toBeLessThan(20_000);
    engine.finish();
    expect(engine.memory.slices).toBe(0);
  });

  it('disabled rules do not run, shadow rules mark their findings', () => {
    const events = [retry(0), retry(1), retry(2), ev('action.requested', 3, { intentId: 'i-9' })];
    const off = createRuleSet({ detectors: TEST_DETECTORS, rules: { retry_spike: { mode: 'disabled' }, orphaned_action: { mode: 'shadow', severity: 'info' } } });
    const out = replayAll(TEST_DETECTORS, events, off);
    expect(out).toHaveLength(4);
    expect(new Set(out.map((f) => `${f.kind} ${f.shadow} ${f.severity}`))).toEqual(new Set(['orphaned_action true info']));
  });

  it('resolves params per event: most specific override wins, ties go to the later one', () => {
    const rules = createRuleSet({
      detectors: [countRetries],
      env: 'prod',
      rules: { retry_spike: { params: { maxRetries: 10 } } },
      overrides: [
        { match: { agent: 'a1', plan: 'free' }, detectors: { retry_spike: { params: { maxRetries: 2 } } } },
        { match: { agent: 'a1' }, detectors: { retry_spike: { params: { maxRetries: 5 } } } },
        { match: { agent: 'a1' }, detectors: { retry_spike: { params: { maxRetries: 4 } } } },
        { match: { env: 'staging', agent: 'a1', plan: 'free', vendor: 'v' }, detectors: { retry_spike: { mode: 'disabled' } } },
      ],
    });
    const p = (agentId: string, plan?: string) => rules.rulesFor(rules.matchKey(ev('action.requested', 0, { agentId, ...(plan ? { plan } : {}) })))[0]?.params.maxRetries;
    expect(p('a1', 'free')).toBe(2);
    expect(p('a1', 'paid')).toBe(4);
    expect(p('a2', 'free')).toBe(10);
  });

  it('refuses a rule set built for other detectors', () => {
    const rules = createRuleSet({ detectors: [orphans] });
    expect(() => new ReplayEngine({ detectors: TEST_DETECTORS, rules, onFinding: () => {} })).toThrow(/rule set was built for detectors/);
  });

  it('gives the same findings whatever the arrival order within the lateness', () => {
    const events = [retry(0), retry(500), retry(900), ev('action.requested', 1000, { intentId: 'i-z' }), ev('action.succeeded', 1200, { intentId: 'i-9' })];
    const ids = (es: typeof events) => replayAll(TEST_DETECTORS, es).map((f) => f.findingId).sort();
    expect(ids([...events].reverse())).toEqual(ids(events));
  });

  it('a detector whose timer does not settle does not loop forever', () => {
    const stuck: Detector<{ n: number }> = {
      kind: 'compensation_failed', severity: 'warning', defaults: {},
      keyOf: () => 'k', init: () => ({ n: 0 }), onEvent: (s) => s,
      onWatermark: (s) => { s.n++; return s; }, nextDue: () => 0, expiresAt: () => 1e15,
    };
    const engine = new ReplayEngine({ detectors: [stuck], onFinding: () => {} });
    engine.push(ev('intent.parsed', 10_000));
    engine.push(ev('intent.parsed', 20_000));
    engine.finish();
    expect(engine.stats.events).toBe(2);
  });
});

describe('SliceRunner.preload', () => {
  it('settles a decision that is due by the watermark a pass starts at before dropping the expired slice', () => {
    // Live, a watermark held back for long (a partition that has not spoken yet) can pass a slice's due
    // time and its expiry at once; the next batch starts there and must still settle the decision.
    const req = ev('action.requested', 0, { intentId: 'i-held' });
    const slice = orphans.onEvent(orphans.init(), req, { params: { timeoutMs: 300_000 }, latenessMs: 5000, watermark: -Infinity, emit: () => {} });
    const found: string[] = [];
    const runner = new SliceRunner({ detectors: [orphans], rules: createRuleSet({ detectors: [orphans] }), watermark: req.ts + 3_600_000, track: true, onFinding: (f) => found.push(...f.eventIds) });
    const slot = runner.preload({ det: 0, key: orphans.keyOf(req)!, state: JSON.parse(JSON.stringify(slice)), matchKey: '', version: 3 });
    expect(found).toEqual([req.eventId]);
    expect(slot.dropped).toBe(true);
    expect(runner.touched).toEqual([slot]);
  });
});

describe('MinHeap and EventDedupe', () => {
  it('pops in priority order', () => {
    const h = new MinHeap<number>();
    const xs = Array.from({ length: 500 }, (_, i) => (i * 7919) % 503);
    for (const x of xs) h.push(x, x);
    const out: number[] = [];
    while (h.size) out.push(h.pop()!);
    expect(out).toEqual([...xs].sort((a, b) => a - b));
  });
  it('forgets ids past the horizon only', () => {
    const d = new EventDedupe(60_000, 1000);
    expect(d.add('a', 0)).toBe(true);
    expect(d.add('a', 0)).toBe(false);
    d.forgetBefore(60_500);
    expect(d.add('a', 0)).toBe(false);
    d.forgetBefore(61_000);
    expect(d.size).toBe(0);
    expect(() => new EventDedupe(-1)).toThrow(/horizon/);
  });
  it('answers as a plain set of the ids within the horizon would, over many ids and redeliveries', () => {
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const d = new EventDedupe(5000, 1000);
    const model = new Map<string, number>(); // id -> bucket
    let watermark = -Infinity;
    for (let i = 0; i < 60_000; i++) {
      const ts = Math.floor(i / 2) + Math.floor(rnd() * 3000);
      const id = rnd() < 0.2 ? `e${Math.floor(rnd() * i)}` : `e${i}`;
      const want = !model.has(id);
      expect(d.add(id, ts)).toBe(want);
      if (want) model.set(id, Math.floor(ts / 1000));
      if (ts - 100 > watermark) {
        watermark = ts - 100;
        d.forgetBefore(watermark);
        for (const [k, b] of model) if ((b + 1) * 1000 <= watermark - 5000) model.delete(k);
      }
      expect(d.size).toBe(model.size);
    }
  });
});
