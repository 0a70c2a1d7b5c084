/**
 * `npm run test:fuzz [-- --long] [-- --seed N]`: the bad-input suite (test/fuzz) on its own, short by
 * default (what `npm test` runs too) or long (at least 10,000 cases), then the number of cases each
 * property ran and the total. Exit status: vitest's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { long: { type: 'boolean' }, seed: { type: 'string' } } });
const dir = mkdtempSync(join(tmpdir(), 'vigil-fuzz-'));
const report = join(dir, 'cases.jsonl');
const env = { ...process.env, VIGIL_FUZZ_REPORT: report, ...(values.long ? { VIGIL_FUZZ: 'long' } : {}), ...(values.seed ? { VIGIL_FUZZ_SEED: values.seed } : {}) };
const started = Date.now();
const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/fuzz'], { stdio: 'inherit', env });
let rows: { name: string; cases: number }[] = [];
try {
  rows = readFileSync(report, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; cases: number });
} catch {
  // no property finished
}
rmSync(dir, { recursive: true, force: true });
const total = rows.reduce((n, x) => n + x.cases, 0);
process.stdout.write(`\nbad-input suite (${values.long ? 'long' : 'short'}): cases per property\n`);
for (const x of rows.sort((a, b) => a.name.localeCompare(b.name))) process.stdout.write(`  ${String(x.cases).padStart(6)}  ${x.name}\n`);
process.stdout.write(`  ${String(total).padStart(6)}  total, in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
process.exitCode = r.status ?? 1;
