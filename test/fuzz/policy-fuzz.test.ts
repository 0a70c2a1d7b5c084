import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { validateBreakerSection } from '../../src/breakers/breaker-policy.ts';
import { parsePolicy } from '../../src/policy/load-policy.ts';
import { PolicyError } from '../../src/policy/policy-error.ts';
import { EDGE_CHARS, hostileString } from './arbitraries.ts';
import { cases, check, FUZZ_TIMEOUT } from './fuzz-support.ts';

/**
 * The policy file under random mutation (lines deleted, doubled, swapped, re-indented, cut short;
 * values, keys and characters replaced): parsePolicy, what `vigil run` does at start and on reload,
 * either accepts the file or throws a PolicyError whose every problem names the file, a line inside
 * it and (past YAML syntax) the field. Never another error: a refused reload keeps the running policy.
 */
const FILE = 'vigil.policy.yaml';
const original = readFileSync(new URL('../../vigil.policy.yaml', import.meta.url), 'utf8');
const lines = original.split('\n');
const opts = { detectors: ALL_DETECTORS, env: 'prod', sectionValidators: { breakers: validateBreakerSection } };

const scalar: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('-1', '0', '1e999', '-1e999', '.nan', '.inf', '-.inf', '0x10', '1_000', '9007199254740993', '0.5', '1.5', 'true', 'no', '~', 'null', '""', "''", '[]', '{}', '[1, 2]', '{a: 1}', '*nowhere', '&a x', '!!binary aGk=', '!!js/function "f"', '!!set {a}', '|', '>', '|-\n  x', '? x', '- x', 'lots', 'enabled', 'disabled', 'shadow', 'critical', 'agent', 'vendor', 'user'),
  fc.integer({ min: -1e12, max: 1e12 }).map(String),
  fc.double({ noNaN: false }).map(String),
  hostileString(12).map((s) => JSON.stringify(s)),
);

type Mutation =
  | { op: 'delete' | 'double' | 'cut'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'indent'; at: number; by: number }
  | { op: 'value' | 'key'; at: number; text: string }
  | { op: 'char'; at: number; pos: number; text: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constantFrom<'delete' | 'double' | 'cut'>('delete', 'double', 'cut'), at: fc.nat() }),
  fc.record({ op: fc.constant<'swap'>('swap'), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant<'indent'>('indent'), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ op: fc.constant<'value'>('value'), at: fc.nat(), text: scalar }),
  fc.record({ op: fc.constant<'key'>('key'), at: fc.nat(), text: fc.oneof(fc.constantFrom('mode', 'severity', 'params', 'detectors', 'overrides', 'match', 'breakers', 'rules', 'scope', 'maxRetriez', '__proto__', 'constructor', '<<', ''), hostileString(8)) }),
  fc.record({ op: fc.constant<'char'>('char'), at: fc.nat(), pos: fc.nat(), text: fc.oneof(fc.constantFrom(':', '-', '{', '}', '[', ']', '&', '*', '!', '|', '>', "'", '"', '#', '%', '@', '`', ',', '?', '\t', '\n', '\r', ...EDGE_CHARS), fc.string({ unit: 'binary', maxLength: 3 })) }),
);

function apply(text: string, ms: readonly Mutation[]): string {
  let ls = text.split('\n');
  for (const m of ms) {
    const n = ls.length;
    if (n === 0) continue; // every line deleted: the empty file is what is parsed
    const i = m.at % n;
    const line = ls[i]!;
    switch (m.op) {
      case 'delete': ls.splice(i, 1); break;
      case 'double': ls.splice(i, 0, line); break;
      case 'cut': ls = [...ls.slice(0, i), line.slice(0, line.length >> 1)]; break;
      case 'swap': { const j = m.with % n; [ls[i], ls[j]] = [ls[j]!, line]; break; }
      case 'indent': ls[i] = m.by >= 0 ? ' '.repeat(m.by) + line : line.replace(new RegExp(`^ {0,${-m.by}}`), ''); break;
      case 'value': ls[i] = line.includes(':') ? line.replace(/:\s.*$|:$/, `: ${m.text}`) : `${line} ${m.text}`; break;
      case 'key': ls[i] = line.replace(/^(\s*)[^:#\s][^:]*:/, `$1${m.text}:`); break;
      case 'char': { const p = m.pos % (line.length + 1); ls[i] = line.slice(0, p) + m.text + line.slice(p); break; }
    }
  }
  return ls.join('\n');
}

/** The property: accepted, or a PolicyError naming file, a line in it, and what is wrong. */
function acceptedOrRefused(text: string): 'accepted' | 'refused' {
  try {
    parsePolicy(text, FILE, opts);
    return 'accepted';
  } catch (e) {
    if (!(e instanceof PolicyError)) throw new Error(`parsePolicy threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    const lineCount = text.split('\n').length;
    expect(e.problems.length).toBeGreaterThan(0);
    for (const p of e.problems) {
      expect(p.file).toBe(FILE);
      expect(Number.isInteger(p.line)).toBe(true);
      expect(p.line).toBeGreaterThanOrEqual(1);
      expect(p.line).toBeLessThanOrEqual(lineCount + 1);
      expect(p.message.length).toBeGreaterThan(0);
      if (!p.message.startsWith('invalid YAML')) expect(typeof p.field).toBe('string');
    }
    expect(e.message).toContain(`${FILE}:`);
    return 'refused';
  }
}

describe('vigil.policy.yaml under random mutation: accepted, or refused naming file, line and field', () => {
  it('the file as shipped is accepted', () => {
    expect(acceptedOrRefused(original)).toBe('accepted');
  }, FUZZ_TIMEOUT);

  it('line, key, value and character mutations', () => {
    const seen = { accepted: 0, refused: 0 };
    check('policy: mutated files', fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 5 }), (ms) => {
      seen[acceptedOrRefused(apply(original, ms))]++;
    }), cases(400, 3000));
    // the generator reaches both sides (a suite that only ever refuses tests nothing of acceptance)
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT);

  it('hostile whole files: alias bombs, deep nesting, huge keys, binary, many documents', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    const files = fc.oneof(
      fc.constant(bomb),
      fc.constant(''),
      fc.constant(`detectors:\n  retry_spike:\n    params: ${'['.repeat(5000)}${']'.repeat(5000)}\n`),
      fc.constant(`detectors:\n  ${'k'.repeat(100_000)}: {}\n`),
      fc.constant('---\nlatenessMs: 1\n---\nlatenessMs: 2\n'),
      fc.constant('latenessMs: 1\nlatenessMs: 2\n'),
      fc.constant('\ufeff' + original),
      fc.constant(original.replace(/\n/g, '\r\n')),
      fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b).toString('utf8')),
      fc.string({ unit: 'binary', maxLength: 300 }),
    );
    check('policy: hostile files', fc.property(files, (text) => {
      acceptedOrRefused(text);
    }), cases(100, 500));
  }, FUZZ_TIMEOUT);
});
