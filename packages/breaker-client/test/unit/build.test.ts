import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('../../', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * The monitor runs the package's compiled dist/: `build.mjs --if-stale` (run by scripts/ensure-deps.sh,
 * vitest.config.ts and the CLI) must rebuild whenever an input changed, and only then.
 */
describe('build.mjs', () => {
  // A copy inside the repository (.vigil/ is ignored by git), so typescript resolves from node_modules,
  // two levels down so that the build finds no Python client beside it to copy the manifest to.
  const dir = join(REPO, '.vigil', `build-test-${process.pid}`, 'pkg');
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  const build = (...args: string[]) => execFileSync(process.execPath, [join(dir, 'scripts/build.mjs'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const stale = () => execFileSync(process.execPath, ['-e', `import(${JSON.stringify(join(dir, 'scripts/build.mjs'))}).then(async (m) => process.stdout.write(String(!(await m.isFresh()))))`], { encoding: 'utf8' }) === 'true';

  it('skips a fresh dist, rebuilds after a source change, notices a Lua change; only a plain build writes the artifact', () => {
    mkdirSync(dir, { recursive: true });
    // Start from the repository's own (fresh: vitest.config.ts built it) dist/, to compile only once here.
    for (const p of ['src', 'lua', 'scripts', 'package.json', 'tsconfig.json', 'dist']) cpSync(join(PKG, p), join(dir, p), { recursive: true });
    rmSync(join(dir, 'lua', 'dist'), { recursive: true, force: true });
    expect(stale()).toBe(false);
    const before = statSync(join(dir, 'dist/index.js')).mtimeMs;
    expect(build('--if-stale')).toBe('');
    expect(statSync(join(dir, 'dist/index.js')).mtimeMs, 'a fresh dist is left alone').toBe(before);
    rmSync(join(dir, 'dist/.build-hash'));
    expect(stale(), 'a dist without its hash is stale').toBe(true);
    appendFileSync(join(dir, 'src/keys.ts'), '\nexport const BUILD_TEST_MARKER = 42;\n');
    expect(stale()).toBe(true);
    // --if-stale never writes the committed Lua artifact; a plain build (npm run build, prepack) does.
    build();
    expect(readFileSync(join(dir, 'dist/keys.js'), 'utf8')).toContain('BUILD_TEST_MARKER = 42');
    expect(stale()).toBe(false);
    const manifest = JSON.parse(readFileSync(join(dir, 'lua/dist/manifest.json'), 'utf8')) as { scripts: { file: string; source: string }[] };
    expect(manifest.scripts.map((s) => s.file)).toContain('takePermit-1.lua');
    expect(readFileSync(join(dir, 'lua/dist/takePermit-1.lua'), 'utf8')).toBe(manifest.scripts.find((s) => s.file === 'takePermit-1.lua')!.source);
    appendFileSync(join(dir, 'lua/src/takePermit-1.lua'), '\n-- changed\n');
    expect(stale(), 'a changed Lua source makes the build stale').toBe(true);
    // One tsc compile: ~5 s on an idle 2-core machine, over a minute when the machine is shared.
  }, 240_000);
});
