import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { connectRedis } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { cleanup } from '../breakers/helpers.ts';
import { testEnv } from '../helpers/test-config.ts';
import { deepNesting, EDGE_CHARS, hostileString, mutate, mutation, validEvent } from './arbitraries.ts';
import { cases, checkAsync, hasStackTrace, record, FUZZ_TIMEOUT } from './fuzz-support.ts';

/**
 * The CLI on random input, through `main` (what bin/vigil runs): `vigil replay` on files of random
 * lines, `vigil breakers …` and other commands on random arguments. A user's mistake gets a clear
 * message and an exit status (2 for a wrong command line), never a stack trace; bad lines are reported
 * with their number and skipped.
 */
const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const io: CommandIo = { stdout, stderr, stdin: Readable.from([]), env };
  return { io, out: () => out, err: () => err };
}

type Line = { text: string; good: boolean | undefined };

/** A line of a JSON Lines file: a valid event (good), garbage (bad), or a mutated event (either). */
const line: fc.Arbitrary<Line> = fc.oneof(
  validEvent.map((e) => ({ text: JSON.stringify(e), good: true })),
  fc.tuple(validEvent, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([e, ms]) => ({ text: JSON.stringify(mutate(e, ms)), good: undefined })),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter((s) => !/[\n\r]/.test(s) && s.trim() !== '' && !isJson(s)).map((text) => ({ text, good: false })),
  fc.constantFrom('{', '}', '[]', 'null', '42', '"x"', '{"eventId":', '\u0000', '\ufeff{}', '{"eventId":"\\ud800"}').map((text) => ({ text, good: false })),
  deepNesting.map((text) => ({ text, good: undefined })),
);

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

let fileNo = 0;
/** Event time of the first good line of a file. */
const BASE_MS = Date.parse('2026-11-20T09:00:00.000Z');

describe('vigil replay on files of random lines', () => {
  it('reports each bad line by number, runs the good ones, exits 0, never a stack trace', async () => {
    let lines = 0;
    await checkAsync('cli: vigil replay files', fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 25 }), fc.boolean(), async (ls, unique) => {
      // good lines a second apart in event time (so the event-time guard has no reason to refuse them);
      // unique eventIds if asked, so a good line is never a duplicate of another
      const texts = ls.map((l, i) => {
        if (!l.good) return l.text;
        const e = { ...JSON.parse(l.text), occurredAt: new Date(BASE_MS + i * 1000).toISOString() };
        return JSON.stringify(unique ? { ...e, eventId: `e${i}` } : e);
      });
      const file = join(dir, `f${fileNo++}.jsonl`);
      writeFileSync(file, texts.join('\n') + '\n');
      const c = capture();
      const code = await main(['replay', file, '--format', 'jsonl'], c.io);
      lines += ls.length;
      expect(code).toBe(0);
      expect(hasStackTrace(c.err())).toBe(false);
      // a bad line is reported as such; a valid event may be judged by its clock (refused, or held to
      // the end), which is not a bad line: only a line of another clock can make a good one look wrong
      const timeJudged = new Set([...c.err().matchAll(/^line (\d+): event (?:time out of bounds|held at the end)/gm)].map((m) => Number(m[1])));
      const reported = new Set([...c.err().matchAll(/^line (\d+): /gm)].map((m) => Number(m[1])).filter((n) => !timeJudged.has(n)));
      const otherClocks = ls.some((l) => l.good !== true);
      ls.forEach((l, i) => {
        if (l.good === true) expect(reported.has(i + 1), `line ${i + 1} is a valid event`).toBe(false);
        if (l.good === true && !otherClocks) expect(timeJudged.has(i + 1), `line ${i + 1} is on time`).toBe(false);
        if (l.good === false) expect(reported.has(i + 1), `line ${i + 1} is not an event`).toBe(true);
      });
      expect(c.err()).toMatch(new RegExp(`\\(\\d+ duplicates, ${reported.size} bad lines(, \\d+ out of bounds)?\\)`));
      for (const f of c.out().split('\n').filter(Boolean)) expect(JSON.parse(f).findingId).toMatch(/^f_/);
    }), cases(60, 400));
    record('cli: vigil replay lines', lines);
  }, FUZZ_TIMEOUT);
});

/** Arguments a user might type, and some no one would. */
const arg: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('list', 'show', 'open', 'close', 'reset', 'vendor', 'agent', 'user', 'action', 'global', 'all', 'acme-air',
    '--actor', '--reason', '--ttl', '--scope', '--state', '--json', '--help', '-h', '--', '-', '--ttl=15m', '--ttl=0', '--ttl=31d', '--ttl=-1', '--ttl=1e3',
    '15m', '2h', '30d', '31d', '0', '90', 'open', 'forced_open', 'half_open', '--actor=', '--reason=', '--unknown', '-x', '--scope=vendor', '--json=yes'),
  hostileString(12),
  fc.constantFrom(...EDGE_CHARS),
  fc.constant('x'.repeat(5000)),
);

describe('vigil breakers and other commands on random arguments', () => {
  const env = testEnv(); // a key prefix of its own: an override that parses lands there
  afterAll(async () => {
    const redis = connectRedis({ url: env.REDIS_URL!, connectionName: 'vigil-cli-fuzz-cleanup' });
    try {
      await cleanup(redis, new KeyBuilder(env.VIGIL_REDIS_PREFIX!));
    } finally {
      redis.disconnect();
    }
  }, FUZZ_TIMEOUT);
  /** Command lines close to right (a subcommand, a scope and id, the flags it wants), some values hostile. */
  const almost: fc.Arbitrary<string[]> = fc
    .tuple(
      fc.constantFrom('list', 'show', 'open', 'close', 'reset'),
      fc.constantFrom('vendor', 'agent', 'user', 'action', 'global', 'tenant'),
      fc.oneof(fc.constantFrom('acme-air', 'all', 'u_1', 'a b', '{x}', ''), hostileString(10)),
      fc.oneof(fc.constant('ops@example.com'), hostileString(10)),
      fc.oneof(fc.constant('incident 42'), hostileString(10)),
      fc.constantFrom('15m', '90', '30d', '31d', '0', 'soon', '1h'),
      fc.subarray(['actor', 'reason', 'ttl', 'json']),
    )
    .map(([sub, scope, id, actor, reason, ttl, flags]) => [
      sub,
      ...(sub === 'list' ? [] : [scope, id]),
      ...(flags.includes('actor') ? ['--actor', actor] : []),
      ...(flags.includes('reason') ? ['--reason', reason] : []),
      ...(flags.includes('ttl') ? ['--ttl', ttl] : []),
      ...(flags.includes('json') ? ['--json'] : []),
    ]);
  it('exit 0, 1 or 2 with a message, never a stack trace', async () => {
    const codes = new Map<number, number>();
    await checkAsync('cli: vigil breakers arguments', fc.asyncProperty(fc.oneof(fc.array(arg, { maxLength: 7 }), almost), async (argv) => {
      const c = capture(env);
      const code = await main(['breakers', ...argv], c.io);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      expect([0, 1, 2]).toContain(code);
      expect(hasStackTrace(c.err())).toBe(false);
      if (code !== 0) expect((c.err() + c.out()).length).toBeGreaterThan(0);
      if (code === 0 && argv.includes('--json') && !argv.some((a) => a === '--help' || a === '-h')) expect(() => JSON.parse(c.out())).not.toThrow();
    }), cases(150, 1000));
    // the generator reaches Redis (accepted overrides and lookups), not only the argument parser
    expect(codes.get(0) ?? 0).toBeGreaterThan(0);
    expect(codes.get(2) ?? 0).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT);

  it('unknown commands, help, and wrong command lines of replay', async () => {
    await checkAsync('cli: other command lines', fc.asyncProperty(fc.oneof(
      fc.array(arg, { minLength: 1, maxLength: 4 }),
      fc.tuple(fc.constant('replay'), fc.array(fc.oneof(arg, fc.constantFrom('--workers', '--workers=0', '--workers=99', '--format=xml', '--policy=/nonexistent', '--env')), { maxLength: 4 })).map(([c, a]) => [c, ...a]),
      fc.array(fc.constantFrom('produce', '--topic', '--json', '--nope', 'a', 'b'), { minLength: 1, maxLength: 4 }).map((a) => ['produce', '--nope', ...a]),
    ), async (argv) => {
      if (argv[0] === 'replay' && argv.length > 1 && !argv.slice(1).some((a) => a.startsWith('-') && a !== '-') && argv.filter((a) => !a.startsWith('-')).length === 2) return; // a real file name: not this test
      if (argv.includes('-') && argv[0] === 'replay') return; // would read standard input
      const c = capture();
      const code = await main(argv, c.io);
      expect([0, 1, 2]).toContain(code);
      expect(hasStackTrace(c.err()), c.err()).toBe(false);
    }), cases(150, 1000));
  }, FUZZ_TIMEOUT);
});
