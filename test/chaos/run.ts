/**
 * `npm run test:chaos [-- --long] [-- --seed N]`: the chaos suite (test/chaos) on its own, short by
 * default (what `npm test` runs too) or long (25 SIGKILLs, Redis down 30 s, the broker stopped and
 * started, SMTP down, a slow and cut network, a rebalance), then its figures. The long run adds them to
 * test/chaos/RESULTS.md, a section per run, the newest first. Exit status: vitest's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { long: { type: 'boolean' }, seed: { type: 'string' } } });
const dir = mkdtempSync(join(tmpdir(), 'vigil-chaos-run-'));
const report = join(dir, 'figures.json');
const env = { ...process.env, VIGIL_CHAOS_REPORT: report, ...(values.long ? { VIGIL_CHAOS: 'long' } : {}), ...(values.seed ? { VIGIL_CHAOS_SEED: values.seed } : {}) };
const started = Date.now();
const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/chaos'], { stdio: 'inherit', env });
let summary: string | undefined;
try {
  summary = (JSON.parse(readFileSync(report, 'utf8')) as { summary: string }).summary;
} catch {
  // the suite ended before its figures
}
rmSync(dir, { recursive: true, force: true });
const passed = r.status === 0;
process.stdout.write(`\n${summary ?? 'chaos suite: no figures (it failed before the end; see above)'}\n  vitest: ${passed ? 'passed' : `FAILED (exit ${r.status})`}, ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
if (values.long && summary) {
  // One section per run, the newest first, under the file's header (the runs before stay).
  const file = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
  const header = '# Chaos suite: the long runs\n\nOne section per run of `npm run test:chaos -- --long [--seed N]` (test/chaos/run.ts), the newest first.\n';
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = before.indexOf('\n## ');
  const older = at >= 0 ? before.slice(at + 1) : '';
  const section =
    `## ${new Date().toISOString()}: seed ${values.seed ?? 2026}, ${passed ? 'passed' : 'FAILED'}\n\n` +
    `Written by \`npm run test:chaos -- --long${values.seed ? ` --seed ${values.seed}` : ''}\` at commit ${gitHead()}; vitest ${passed ? 'passed' : `FAILED (exit ${r.status})`}.\n\n\`\`\`\n${summary}\n\`\`\`\n`;
  writeFileSync(file, `${header}\n${section}${older ? `\n${older}` : ''}`);
  process.stdout.write(`  figures written to ${file}\n`);
}

function gitHead(): string {
  const g = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return g.status === 0 ? `${g.stdout.trim()}${dirty.stdout.trim() ? ' (with uncommitted changes)' : ''}` : '(not a git checkout)';
}
process.exitCode = r.status ?? 1;
