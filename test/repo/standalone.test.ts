import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What a clone of the repository runs: code, tests, scripts, benchmarks, clients, packages, CI. */
const DIRS = ['src', 'processors', 'test', 'scripts', 'bench', 'bin', 'packages', 'clients', '.ci', 'docs'];
/** The workspace's shared folder beside the repository (processors/shared/ is the repo's own). */
const OUTSIDE = /shared\/(samples|event-contract|design\.md|local-stack-notes)|\/work\/(shared|main)\b/;
const SKIP = new Set(['node_modules', 'dist', '__pycache__', '.vigil', 'results']);

function* files(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mjs|js|json|sh|py|toml|md|yaml|yml)$|^run$|^vigil$/.test(name)) yield p;
  }
}

/**
 * A clone of vigil has nothing beside it: no file it runs may reach outside the repository for
 * shared material (the event contract and the sample events live in docs/ and samples/).
 */
describe('the repository stands alone', () => {
  it('no code, test, script, benchmark or doc reads ../shared or /work', () => {
    const offenders: string[] = [];
    for (const dir of DIRS) {
      for (const f of files(join(ROOT, dir))) {
        if (f === fileURLToPath(import.meta.url)) continue;
        const text = readFileSync(f, 'utf8');
        text.split('\n').forEach((line, i) => {
          if (OUTSIDE.test(line)) offenders.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });

  it('carries the event contract and the README links to it', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readFileSync(join(ROOT, 'docs/event-contract.md'), 'utf8')).toMatch(/^# Event contract/);
    expect(readme).toContain('(docs/event-contract.md)');
    expect(readme).not.toContain('../shared');
  });
});
