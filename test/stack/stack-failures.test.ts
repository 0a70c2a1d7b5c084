import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { portClaimer, type PieceContext } from '../../scripts/stack/piece-context.ts';
import { isAlive, pollUntil, spawnDetached, stopProcess, tailFile } from '../../scripts/stack/process-utils.ts';
import { redisAnswers, startRedis } from '../../scripts/stack/redis-piece.ts';
import { loadStackConfig } from '../../scripts/stack/stack-config.ts';
import { StackPieceError } from '../../scripts/stack/stack-errors.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';

async function waitForLine(path: string, re: RegExp): Promise<RegExpExecArray> {
  for (let i = 0; i < 200; i++) {
    const m = re.exec(tailFile(path, 50));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no line matching ${String(re)} in ${path}`);
}

const cli = join(resolve(import.meta.dirname, '..', '..'), 'scripts', 'stack', 'cli.ts');

describe('stack failures and fallbacks', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-stack-fail-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('starts a redis-server of its own (no persistence) when it has to, and stops it', async () => {
    const config = loadStackConfig({ ...process.env, VIGIL_STACK_DIR: join(scratch, 'redis') });
    const logsDir = join(config.runtimeDir, 'logs');
    mkdirSync(logsDir, { recursive: true });
    const lines: string[] = [];
    const ctx: PieceContext = { config, log: (l) => lines.push(l), logsDir, claimPort: portClaimer() };
    const rec = await startRedis(ctx);
    try {
      expect(rec.managed).toBe(true);
      expect(rec.address).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(await redisAnswers(rec.address)).toBe(true);
      expect(lines.join('\n')).toMatch(/starting redis-server/);
    } finally {
      await stopProcess(rec.pid as number, 5000);
    }
    expect(isAlive(rec.pid)).toBe(false);
    expect(await redisAnswers(rec.address, 300)).toBe(false);
  });

  it('a process that dies while starting is reported with the tail of its log', async () => {
    const logPath = join(scratch, 'dies.log');
    const pid = spawnDetached('sh', ['-c', 'echo "starting"; echo "fatal: port in use" >&2; exit 3'], { logPath, env: { PATH: '/usr/bin:/bin' } });
    const error = await pollUntil(async () => false, {
      timeoutMs: 10_000,
      intervalMs: 50,
      abort: () => (isAlive(pid) ? undefined : 'the process exited'),
      onTimeout: (why) => new StackPieceError('kafka', why, { logPath, logTail: tailFile(logPath) }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackPieceError);
    expect((error as Error).message).toMatch(/^stack: kafka failed: the process exited\n {2}log: .*dies\.log\n {2}last log lines:\n {4}\| starting\n {4}\| fatal: port in use$/);
  });

  it('a command that does not exist is refused at once, without an unhandled error event', async () => {
    expect(() => spawnDetached('vigil-no-such-binary', [], { logPath: join(scratch, 'none.log'), env: { PATH: '/usr/bin:/bin' } })).toThrow(
      /could not start vigil-no-such-binary \(not found or not executable\)/,
    );
    await new Promise((r) => setImmediate(r)); // the spawn 'error' event fires here, and must not crash
  });

  it('stopping a process that ignores SIGTERM falls back to SIGKILL, for its whole process group', async () => {
    const logPath = join(scratch, 'stubborn.log');
    const pid = spawnDetached('sh', ['-c', 'trap "" TERM; sleep 60 & echo "child $!"; wait'], { logPath, env: { PATH: '/usr/bin:/bin' } });
    const child = Number((await waitForLine(logPath, /^child (\d+)$/m))[1]);
    expect(isAlive(child)).toBe(true);
    expect(await stopProcess(pid, 300)).toBe(true); // true: it had to be killed
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(child)).toBe(false);
    expect(await stopProcess(pid, 300)).toBe(false); // already gone: nothing to do
  });

  it('a piece that cannot be fetched makes `up` exit 1 naming the piece and what Maven said', () => {
    const e = stackEndpoints();
    const r = spawnSync(process.execPath, [cli, 'up', '--quiet'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        // Kafka must be the stack's to fetch: a KAFKA_BROKERS exported in the caller's shell would make it external.
        KAFKA_BROKERS: '',
        VIGIL_STACK_DIR: join(scratch, 'nokafka'),
        VIGIL_CACHE_DIR: join(scratch, 'cache'),
        VIGIL_KAFKA_VERSION: '4.0.999',
        SCHEMA_REGISTRY_URL: e.schemaRegistryUrl,
        REDIS_URL: e.redisUrl,
        SMTP_URL: e.smtpUrl,
      },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stack: kafka failed: mvn dependency:copy-dependencies failed/m);
    expect(r.stderr).toMatch(/kafka_2\.13:jar:4\.0\.999/);
    expect(r.stdout).toBe('');
  });
});
