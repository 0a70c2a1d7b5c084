import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { createRuleSet, restrictRuleSet } from '../../processors/engine/rule-set.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { generateEvents } from '../../bench/gen-events.ts';
import { replayCommand } from '../../src/cli/replay.ts';
import { planWorkers } from '../../src/detection/parallel-replay.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function replay(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await replayCommand(argv, { stdout, stderr, stdin: Readable.from([]) });
  return { code, findings: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Finding), err };
}

describe('vigil replay --workers', () => {
  it('gives the same findings with the detectors shared between two threads, bad lines reported once', async () => {
    const lines = [...generateEvents({ events: 30_000, seed: 7, hours: 6 })];
    lines.splice(100, 0, '{broken');
    const file = join(dir, 'traffic.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const one = await replay([file, '--workers', '1']);
    const two = await replay([file, '--workers', '2']);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(one.findings.length).toBeGreaterThan(10);
    const byId = (fs: Finding[]) => [...fs].sort((a, b) => a.findingId.localeCompare(b.findingId));
    expect(byId(two.findings)).toEqual(byId(one.findings));
    expect(two.err.match(/line 101: not valid JSON/g)).toHaveLength(1);
    const summary = (s: string) => /replayed (\d+) events \((\d+) duplicates, (\d+) bad lines\)/.exec(s)!.slice(1);
    expect(summary(two.err)).toEqual(summary(one.err));
  });

  it('refuses a bad --workers value', async () => {
    const { code, err } = await replay([join(dir, 'x.jsonl'), '--workers', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/--workers must be auto or a whole number from 1 to 16, got "0"/);
  });

  it('shares every detector exactly once, the costly ones apart', () => {
    const kinds = ALL_DETECTORS.map((d) => d.kind);
    const groups = planWorkers(kinds, 2);
    expect(groups.flat().sort((a, b) => a - b)).toEqual(kinds.map((_, i) => i));
    const of = (k: string) => groups.findIndex((g) => g.includes(kinds.indexOf(k as never)));
    expect(of('unmasked_pii')).not.toBe(of('idempotency_key_reuse'));
    expect(planWorkers(['retry_spike'], 4)).toEqual([[0]]);
  });

  it('a restricted rule set disables the other detectors only', () => {
    const rules = createRuleSet({ detectors: ALL_DETECTORS });
    const r = restrictRuleSet(rules, new Set([0, 2]));
    const got = r.rulesFor('');
    expect(got.map((x) => x !== undefined)).toEqual(ALL_DETECTORS.map((_, i) => i === 0 || i === 2));
    expect(got[0]).toBe(rules.rulesFor('')[0]);
    expect(r.version).toBe(rules.version);
  });
});
