import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { generateEvents } from '../../bench/gen-events.ts';
import { replayCommand } from '../../src/cli/replay.ts';

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
  return { code, out, findings: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Finding), err };
}

const timing = (s: string) => s.replace(/in [\d.]+ s, \d+ events\/s/, 'in X s, Y events/s');

describe('vigil replay --workers 2', () => {
  it('gives the same output with a second thread reading, parsing and validating: findings in the same order, bad lines, hostile clocks, counts', async () => {
    const lines = [...generateEvents({ events: 30_000, seed: 7, hours: 6 })];
    // two hostile clocks (ten years ahead, ten years back) among bad lines: reported in line order alike
    const shifted = (i: number, ms: number, id: string) => {
      const e = JSON.parse(lines[i]!) as { occurredAt: string };
      return JSON.stringify({ ...e, eventId: id, occurredAt: new Date(Date.parse(e.occurredAt) + ms).toISOString() });
    };
    lines.splice(8000, 0, shifted(8000, 3652 * 86_400_000, 'clock-ahead'), '{broken too');
    lines.splice(9000, 0, shifted(9000, -3652 * 86_400_000, 'clock-behind'));
    lines.splice(100, 0, '{broken');
    lines.splice(2000, 0, '', '  ', lines[1999]!); // blank lines and a redelivery
    lines.splice(5000, 0, JSON.stringify({ ...JSON.parse(lines[5000]!), occurredAt: '2026-11-20T24:00:01.000Z' }));
    const file = join(dir, 'traffic.jsonl');
    writeFileSync(file, lines.join('\r\n') + '\r\n');
    const one = await replay([file, '--workers', '1']);
    const two = await replay([file, '--workers', '2']);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(one.findings.length).toBeGreaterThan(10);
    expect(two.out).toBe(one.out);
    expect(timing(two.err)).toBe(timing(one.err));
    expect(two.err.match(/line 101: not valid JSON/g)).toHaveLength(1);
    expect(two.err).toMatch(/line 5001: invalid event: occurredAt/);
    expect(two.err).toMatch(/\(\d+ duplicates, 3 bad lines, 2 out of bounds\)/);
    // the far-past one at once; the far-ahead one once ten later events refuted it, so after the bad line next to it
    const lineOf = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;
    const [ahead, behind, broken] = [lineOf('clock-ahead'), lineOf('clock-behind'), lineOf('{broken too')];
    const reports = two.err.split('\n').filter((l) => [ahead, behind, broken].some((n) => l.startsWith(`line ${n}:`))).map((l) => l.replace(/: (occurredAt|Expected).*$/, ''));
    expect(reports).toEqual([`line ${broken}: not valid JSON`, `line ${ahead}: event time out of bounds (too_far_ahead), refused`, `line ${behind}: event time out of bounds (too_far_behind), refused`]);
  });

  it('stops reading when the output goes away', async () => {
    const file = join(dir, 'stop.jsonl');
    writeFileSync(file, [...generateEvents({ events: 20_000, seed: 3, hours: 2 })].join('\n') + '\n');
    const stdout = new PassThrough();
    let chunks = 0;
    const code = await replayCommand([file, '--workers', '2'], { stdout, stderr: new PassThrough(), stdin: Readable.from([]) }, {
      onProgress() {
        if (++chunks === 2) stdout.emit('error', Object.assign(new Error('EPIPE'), { code: 'EPIPE' }));
      },
    });
    expect(code).toBe(0);
    expect(chunks).toBe(2);
  });

  it('reports a file it cannot read', async () => {
    const { code, err } = await replay([join(dir, 'missing.jsonl'), '--workers', '2']);
    expect(code).toBe(2);
    expect(err).toMatch(/cannot read .*missing\.jsonl/);
  });

  it('refuses a bad --workers value', async () => {
    const { code, err } = await replay([join(dir, 'x.jsonl'), '--workers', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/--workers must be auto or a whole number from 1 to 16, got "0"/);
  });
});
