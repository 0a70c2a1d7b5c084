import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('../../', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * The monitor runs the package's compiled dist/: `build.mjs --if-stale` (run by scripts/ensure-deps.sh,
 * vitest.config.ts and the CLI) must rebuild whenever an input changed, and only then.
 */
describe('build.mjs --if-stale', () => {
  // A copy inside the repository (.vigil/ is ignored by git), so typescript resolves from node_modules.
  const dir = join(REPO, '.vigil', `build-test-${process.pid}`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const build = () => execFileSync(process.execPath, [join(dir, 'scripts/build.mjs'), '--if-stale'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const stale = () => execFileSync(process.execPath, ['-e', `import(${JSON.stringify(join(dir, 'scripts/build.mjs'))}).then((m) => process.stdout.write(String(!m.isFresh())))`], { encoding: 'utf8' }) === 'true';

  it('builds a missing dist, skips a fresh one, rebuilds after a source or Lua change', () => {
    mkdirSync(dir, { recursive: true });
    for (const p of ['src', 'lua', 'scripts', 'package.json', 'tsconfig.json']) cpSync(join(PKG, p), join(dir, p), { recursive: true });
    rmSync(join(dir, 'lua', 'dist'), { recursive: true, force: true });
    expect(stale()).toBe(true);
    build();
    expect(readFileSync(join(dir, 'dist/index.js'), 'utf8')).toContain('createBreakerClient');
    expect(stale()).toBe(false);
    appendFileSync(join(dir, 'src/keys.ts'), '\nexport const BUILD_TEST_MARKER = 42;\n');
    expect(stale()).toBe(true);
    build();
    expect(readFileSync(join(dir, 'dist/keys.js'), 'utf8')).toContain('BUILD_TEST_MARKER = 42');
    expect(stale()).toBe(false);
    appendFileSync(join(dir, 'lua/src/takePermit-1.lua'), '\n-- changed\n');
    expect(stale()).toBe(true);
  });
});
