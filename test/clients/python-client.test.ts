import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureAptInstalled, ensureDebianPackage } from '../../scripts/tools/debian-tools.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** redis-py and what Debian's python3-redis depends on (no Python package index is reachable here). */
const PYTHON_PACKAGES = ['python3-redis', 'python3-async-timeout', 'python3-deprecated', 'python3-wrapt', 'python3-packaging'];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO, env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Debian's python3 (the ABI of the Debian packages), else the one on PATH; installed on a fresh machine (root). */
async function python(): Promise<string> {
  if (existsSync('/usr/bin/python3')) return '/usr/bin/python3';
  if ((await run('python3', ['--version'], process.env)).code === 0) return 'python3';
  await ensureAptInstalled('python3');
  return '/usr/bin/python3';
}

/**
 * The Python client's own tests (clients/python/tests, unittest) against the stack's real Redis, with
 * redis-py from Debian's python3-redis (fetched into ~/.cache/vigil/debian on first use).
 */
describe('Python client (clients/python)', () => {
  it('passes its unittest suite, conformance vectors included', async () => {
    const py = await python();
    const roots = await Promise.all(PYTHON_PACKAGES.map((p) => ensureDebianPackage(p)));
    const env = {
      ...process.env,
      PYTHONPATH: [join(REPO, 'clients/python'), ...roots.map((r) => join(r, 'usr/lib/python3/dist-packages'))].join(delimiter),
      PYTHONDONTWRITEBYTECODE: '1',
      VIGIL_TEST_REDIS_URL: stackEndpoints().redisUrl,
    };
    const r = await run(py, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-t', 'clients/python', '-v'], env);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^Ran \d+ tests/m);
    expect(r.output).toMatch(/test_every_vector/);
  }, 180_000);
});
