import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { replayAll } from '../../processors/engine/replay-engine.ts';
import { readLines, replayCommand } from '../../src/cli/replay.ts';
import { defaultPolicy, policyVersionOf } from '../../src/policy/load-policy.ts';
import { ev, TEST_DETECTORS, toJsonl } from './fixtures/test-detectors.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink(isTTY = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text: () => string };
  let buf = '';
  s.on('data', (c) => (buf += c));
  s.isTTY = isTTY;
  s.text = () => buf;
  return s;
}

async function run(argv: string[], opts: { stdin?: string; tty?: boolean } = {}) {
  const stdout = sink(opts.tty);
  const stderr = sink();
  const stdin = Readable.from(opts.stdin !== undefined ? [Buffer.from(opts.stdin)] : []);
  const code = await replayCommand(argv, { stdout, stderr, stdin }, { detectors: TEST_DETECTORS, defaultPolicyPath: null });
  return { code, out: stdout.text(), err: stderr.text() };
}

const events = [
  ev('action.requested', 0, { attempt: 2, intentId: 'i-r', eventId: 'r1' }),
  ev('action.succeeded', 100, { attempt: 2, intentId: 'i-r', eventId: 'r1ok' }),
  ev('action.requested', 1000, { attempt: 2, intentId: 'i-s', eventId: 'r2' }),
  ev('action.failed', 1100, { attempt: 2, intentId: 'i-s', eventId: 'r2ok' }),
  ev('action.requested', 2000, { attempt: 2, intentId: 'i-t', eventId: 'r3', traceId: 'ab'.repeat(16) }),
];
const file = join(dir, 'events.jsonl');
writeFileSync(file, toJsonl(events));

describe('vigil replay', () => {
  it('prints the same findings as the pure engine, as JSON Lines when stdout is not a terminal; decisions not due by the end are undecided', async () => {
    const { code, out, err } = await run([file]);
    expect(code).toBe(0);
    const got = out.trim().split('\n').map((l) => JSON.parse(l) as Finding);
    const settled = replayAll(TEST_DETECTORS, events, defaultPolicy({ detectors: TEST_DETECTORS }).rules);
    // r3 (at 2 s) waits 5 min for an outcome: the file ends 2 s in, so that decision is not due
    expect(settled.map((f) => f.kind).sort()).toEqual(['orphaned_action', 'retry_spike']);
    expect(got).toEqual(settled.filter((f) => f.kind !== 'orphaned_action'));
    expect(err).toMatch(
      /^replayed 5 events \(0 duplicates, 0 bad lines\) in [\d.]+ s, \d+ events\/s; policy p-[0-9a-f]{12}; 1 findings: retry_spike 1; 1 undecided \(not due by the last watermark 2026-11-20T09:59:57.000Z: orphaned_action 1; --show-undecided lists them, --settle-at-end makes them findings\)\n$/,
    );
  });

  it('--settle-at-end settles what is pending as findings (the end of the file as the end of time)', async () => {
    const { code, out, err } = await run([file, '--settle-at-end']);
    expect(code).toBe(0);
    expect(out.trim().split('\n').map((l) => JSON.parse(l) as Finding)).toEqual(replayAll(TEST_DETECTORS, events, defaultPolicy({ detectors: TEST_DETECTORS }).rules));
    expect(err).toMatch(/; 2 findings: (retry_spike 1, orphaned_action 1|orphaned_action 1, retry_spike 1)\n$/);
  });

  it('--show-undecided lists the undecided after the findings, marked', async () => {
    const { out, err } = await run([file, '--show-undecided']);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Finding & { undecided?: boolean });
    expect(lines.map((f) => [f.kind, f.undecided])).toEqual([['retry_spike', undefined], ['orphaned_action', true]]);
    expect(lines[1]!.eventIds).toEqual(['r3']);
    expect(err).toContain('1 undecided (not due by the last watermark 2026-11-20T09:59:57.000Z: orphaned_action 1; listed after the findings');
    const table = await run([file, '--show-undecided', '--format', 'table']);
    expect(table.out).toMatch(/orphaned_action\s+critical \(undecided\)/);
    expect((await run([file, '--show-undecided', '--settle-at-end'])).code).toBe(2);
  });

  it('reports bad lines with their numbers, skips them, and exits 0', async () => {
    const lines = toJsonl(events).trim().split('\n');
    const text = [lines[0], '{not json', '', '{"eventId":"x","type":"action.requested"}', '[1,2]', ...lines.slice(1)].join('\n');
    const { code, out, err } = await run(['-'], { stdin: text });
    expect(code).toBe(0);
    expect(err).toContain('line 2: not valid JSON: ');
    expect(err).toContain('line 4: invalid event: occurredAt: is required');
    expect(err).toContain('line 5: invalid event: (root): must be an object, got array');
    expect(err).not.toMatch(/line 3:/);
    expect(err).toMatch(/replayed 5 events \(0 duplicates, 3 bad lines\)/);
    expect(out.trim().split('\n')).toHaveLength(1);
  });

  it('counts and skips duplicates', async () => {
    const { out, err } = await run(['-'], { stdin: toJsonl([...events, ...events]) });
    expect(err).toMatch(/replayed 5 events \(5 duplicates, 0 bad lines\)/);
    expect(out.trim().split('\n')).toHaveLength(1);
  });

  it('prints a table on a terminal, or with --format table', async () => {
    for (const argv of [[file], [file, '--format', 'table']]) {
      const { code, out } = await run(argv, { tty: argv.length === 1 });
      expect(code).toBe(0);
      const rows = out.trim().split('\n');
      expect(rows[0]).toMatch(/^DETECTED AT\s+KIND\s+SEVERITY\s+SCOPE\s+SUMMARY$/);
      expect(rows).toHaveLength(2);
      expect(out).toMatch(/retry_spike\s+warning\s+agent:travel-assistant\s+3 retries in 60000 ms \[f_[0-9a-f]{32}\]/);
    }
  });

  it('runs by a policy file: shadow mode and params', async () => {
    const policy = join(dir, 'p.yaml');
    writeFileSync(policy, 'detectors:\n  retry_spike:\n    mode: shadow\n    params: { maxRetries: 2 }\n  orphaned_action: { mode: disabled }\n');
    const { out } = await run([file, '--policy', policy]);
    const got = out.trim().split('\n').map((l) => JSON.parse(l) as Finding);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ kind: 'retry_spike', shadow: true, eventIds: ['r1', 'r2'] });
  });

  it.each([
    ['a missing file', () => [join(dir, 'nope.jsonl')], /vigil replay: cannot read .*nope\.jsonl: ENOENT/],
    ['an invalid policy', () => {
      const p = join(dir, 'bad.yaml');
      writeFileSync(p, 'detectors:\n  retry_spike:\n    params: { maxRetries: lots }\n');
      return [file, '--policy', p];
    }, /policy refused:\n.*bad\.yaml:3: detectors\.retry_spike\.params\.maxRetries: must be a number ≥ 1, got "lots"/],
    ['a missing policy', () => [file, '--policy', join(dir, 'none.yaml')], /none\.yaml: cannot be read/],
    ['a bad breakers section', () => {
      const p = join(dir, 'brk.yaml');
      writeFileSync(p, 'breakers:\n  rulez: {}\n');
      return [file, '--policy', p];
    }, /brk\.yaml:2: breakers\.rulez: unknown key/],
    ['a directory', () => [dir], /vigil replay: cannot read .*: EISDIR/],
    ['no FILE', () => [], /FILE is required/],
    ['a bad format', () => [file, '--format', 'csv'], /--format must be jsonl or table, got "csv"/],
    ['an unknown option', () => [file, '--fast'], /Unknown option '--fast'/],
  ])('exits 2 on %s, saying why', async (_n, argv, expected) => {
    const { code, err } = await run(argv());
    expect(code).toBe(2);
    expect(err).toMatch(expected);
  });

  it('runs by ./vigil.policy.yaml by default, like vigil run', async () => {
    const stdout = sink();
    const stderr = sink();
    const code = await replayCommand([file], { stdout, stderr, stdin: Readable.from([]) });
    expect(code).toBe(0);
    expect(stderr.text()).toContain(`policy ${policyVersionOf(readFileSync('vigil.policy.yaml', 'utf8'))}`);
  });

  it('--help prints usage', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: vigil replay FILE/);
  });

  it('reads lines across chunk boundaries, multi-byte characters and CRLF included', async () => {
    const bytes = Buffer.from('a\r\nbé\ncd\n\nlast');
    const chunks = [bytes.subarray(0, 4), bytes.subarray(4, 5), bytes.subarray(5)];
    const lines: string[] = [];
    for await (const c of readLines(Readable.from(chunks))) lines.push(...c);
    expect(lines).toEqual(['a', 'bé', 'cd', '', 'last']);
  });
});
