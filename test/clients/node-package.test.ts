import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 16 * 1024 * 1024, timeout: 170_000 }, (e, stdout, stderr) => {
      res({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: String(stdout), err: String(stderr) });
    });
  });
}

/** The first ```js block of a README: the example a user copies. */
function example(readme: string): string {
  const m = /```js\n([\s\S]*?)```/.exec(readFileSync(join(REPO, readme), 'utf8'));
  if (!m) throw new Error(`${readme} has no js example`);
  return m[1]!;
}

/** The machine's own Node (the system's 20 here), not node_modules/.bin's 24: the first `node` on PATH outside node_modules. */
function systemNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    const p = join(dir, 'node');
    if (existsSync(p) && resolve(p) !== resolve(process.execPath)) return p;
  }
  if (existsSync('/usr/bin/node')) return '/usr/bin/node';
  throw new Error('no system node outside node_modules on PATH (the client must run on Node 20)');
}

function duBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) continue;
    n += s.isDirectory() && !s.isSymbolicLink() ? duBytes(p) : s.size;
  }
  return n;
}

/**
 * What a user does: `npm pack` the client, `npm install` the tarball in an empty project (ioredis from
 * the npm registry), and run the README's example on Node 20 and Node 24 against real Redis.
 */
describe('@vigil/breaker-client installed from its packed tarball', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-client-install-'));
  const prefix = randomName('t-pack');
  let redis: Redis;
  let node20: string;
  beforeAll(async () => {
    redis = new Redis(stackEndpoints().redisUrl);
    node20 = systemNode();
    const pack = await run('npm', ['pack', '-w', '@vigil/breaker-client', '--pack-destination', dir, '--loglevel=error'], { cwd: REPO });
    expect(pack.code, pack.err).toBe(0);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tarball, pack.out).toBeDefined();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const install = await run('npm', ['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
    expect(install.code, install.err).toBe(0);
    writeFileSync(join(dir, 'example.mjs'), example('packages/breaker-client/README.md'));
  }, 180_000);
  afterAll(async () => {
    await redis.del(`${prefix}:brk:{vendor:acme-air}:state`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const runExample = (node: string) =>
    run(node, ['example.mjs'], { cwd: dir, env: { ...process.env, REDIS_URL: stackEndpoints().redisUrl, VIGIL_REDIS_PREFIX: prefix } });

  it('installs compiled JavaScript with types, ioredis its only dependency, node_modules under 40 MB', () => {
    const pkg = JSON.parse(readFileSync(join(dir, 'node_modules/@vigil/breaker-client/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toEqual(['ioredis']);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'lua/dist/manifest.json', 'lua/src/takePermit-1.lua']) expect(existsSync(join(dir, 'node_modules/@vigil/breaker-client', f)), f).toBe(true);
    expect(readdirSync(join(dir, 'node_modules/@vigil/breaker-client/dist')).some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
    const mb = duBytes(join(dir, 'node_modules')) / 1024 / 1024;
    expect(mb).toBeLessThan(40);
  });

  it("the README's example is the package README's", () => {
    expect(example('README.md')).toBe(example('packages/breaker-client/README.md'));
  });

  it('runs the example on Node 20 and Node 24: allowed, then denied once the vendor is forced open', async () => {
    for (const node of [node20, process.execPath]) {
      const version = (await run(node, ['--version'], { cwd: dir })).out.trim();
      await redis.del(`${prefix}:brk:{vendor:acme-air}:state`);
      const ok = await runExample(node);
      expect(ok, `${version}: ${ok.err}`).toMatchObject({ code: 0, out: 'booked (closed)\n' });
      await redis.hset(`${prefix}:brk:{vendor:acme-air}:state`, {
        v: '1', scope: 'vendor', id: 'acme-air', state: 'forced_open', since: String(Date.now()), until: String(Date.now() + 600_000), actor: 'alice', note: 'incident 42',
      });
      const no = await runExample(node);
      expect(no.code, `${version}: ${no.err}`).toBe(0);
      expect(no.out, version).toMatch(/^not now: vendor acme-air forced open by alice: incident 42 \(retry after \d+ ms\)\n$/);
    }
    // CommonJS callers: require() of this ES module works where Node can require ES modules (20.19+, 22.12+).
    for (const node of [node20, process.execPath]) {
      const cjs = await run(node, ['-e', "process.stdout.write(typeof require('@vigil/breaker-client').createBreakerClient)"], { cwd: dir });
      expect(cjs.out, cjs.err).toBe('function');
    }
    expect((await run(node20, ['--version'], { cwd: dir })).out).toMatch(/^v20\./);
    expect((await run(process.execPath, ['--version'], { cwd: dir })).out).toMatch(/^v24\./);
  });

  it('type-checks a TypeScript consumer against the installed .d.ts', async () => {
    writeFileSync(join(dir, 'consumer.ts'), [
      "import { createBreakerClient, isBreakerError, type CheckAnswer } from '@vigil/breaker-client';",
      "const c = createBreakerClient({ failMode: { default: 'closed' } });",
      "const a: CheckAnswer = await c.check({ vendor: 'x' });",
      'const n: number | null = a.retryAfterMs;',
      "if (isBreakerError(n)) console.log(n.code);",
      'await c.close();',
      '',
    ].join('\n'));
    // A Node project has @types/node (ioredis's own types need it): borrow the repository's.
    const compilerOptions = { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023'], strict: true, noEmit: true, skipLibCheck: false, typeRoots: [join(REPO, 'node_modules/@types')], types: ['node'] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    const tsc = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir });
    expect(tsc.code, tsc.out + tsc.err).toBe(0);
  });
});
