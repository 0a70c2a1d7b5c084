import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStack, stackStatus, stopStack } from '../../scripts/stack/index.ts';
import { freePort, isAlive, spawnDetached } from '../../scripts/stack/process-utils.ts';
import { smtpAnswers } from '../../scripts/stack/smtp-piece.ts';
import { StackConfigError, StackPieceError } from '../../scripts/stack/stack-errors.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { waitFor } from '../helpers/wait.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const cli = join(repo, 'scripts', 'stack', 'cli.ts');

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('stack lifecycle', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-stack-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('up twice is a no-op: same pids, same endpoints', async () => {
    const before = await stackStatus();
    const endpoints = await ensureStack({ quiet: true });
    const after = await stackStatus();
    expect(endpoints).toEqual(stackEndpoints());
    expect(after.map((s) => [s.piece, s.state, s.pid])).toEqual(before.map((s) => [s.piece, s.state, s.pid]));
    const cliUp = runCli(['up', '--json']);
    expect(cliUp.code).toBe(0);
    expect(JSON.parse(cliUp.stdout)).toEqual(endpoints);
    expect((await stackStatus()).map((s) => s.pid)).toEqual(before.map((s) => s.pid));
  });

  it('an invalid env override is refused with a clear error naming it (API and CLI)', async () => {
    await expect(ensureStack({ quiet: true, env: { ...process.env, KAFKA_BROKERS: 'nonsense' } })).rejects.toThrow(StackConfigError);
    await expect(ensureStack({ quiet: true, env: { ...process.env, KAFKA_BROKERS: 'nonsense' } })).rejects.toThrow(/KAFKA_BROKERS .*"nonsense"/);
    const r = runCli(['up'], { KAFKA_BROKERS: 'nonsense' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/KAFKA_BROKERS must be a comma-separated list of host:port.*"nonsense"/);
    const bad = runCli(['sideways']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected one command \(up, down or status\), got "sideways"/);
  });

  it('a well-formed override where nothing answers names the piece and the variable', async () => {
    const e = stackEndpoints();
    const env = {
      ...process.env,
      VIGIL_STACK_DIR: join(scratch, 'unreachable'),
      KAFKA_BROKERS: '127.0.0.1:1',
      SCHEMA_REGISTRY_URL: e.schemaRegistryUrl,
      REDIS_URL: e.redisUrl,
      SMTP_URL: e.smtpUrl,
    };
    const error = await ensureStack({ quiet: true, env }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(StackPieceError);
    expect((error as StackPieceError).piece).toBe('kafka');
    expect((error as Error).message).toMatch(/kafka failed: KAFKA_BROKERS=127\.0\.0\.1:1 is set, but nothing answers there/);
  });

  it('concurrent ups (two in this process, one CLI in another) start one sink and agree on it', async () => {
    const e = stackEndpoints();
    const runtimeDir = join(scratch, 'concurrent');
    const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_STACK_DIR: runtimeDir, KAFKA_BROKERS: e.kafkaBrokers, SCHEMA_REGISTRY_URL: e.schemaRegistryUrl };
    delete env['SMTP_URL'];
    const child = spawn(process.execPath, [cli, 'up', '--json', '--quiet'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let childOut = '';
    child.stdout.on('data', (d: Buffer) => (childOut += d.toString()));
    const childDone = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const [a, b] = await Promise.all([ensureStack({ quiet: true, env }), ensureStack({ quiet: true, env })]);
    expect(await childDone).toBe(0);
    const c = JSON.parse(childOut) as typeof a;
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const sinks = (await stackStatus({ env })).filter((s) => s.piece === 'smtp');
    expect(sinks).toHaveLength(1);
    expect(sinks[0]!.state).toBe('running');
    expect((await stopStack({ quiet: true, env })).stopped).toEqual(['smtp']);
    expect(existsSync(`${runtimeDir}.lock`)).toBe(false);
  });

  it('processes of this stack that state.json does not know (strays) are stopped by up and by down', async () => {
    const e = stackEndpoints();
    const runtimeDir = join(scratch, 'strays');
    const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_STACK_DIR: runtimeDir, KAFKA_BROKERS: e.kafkaBrokers, SCHEMA_REGISTRY_URL: e.schemaRegistryUrl };
    delete env['SMTP_URL'];
    const sink = join(repo, 'scripts', 'stack', 'smtp-sink.ts');
    const stray = async (): Promise<number> => {
      const port = await freePort();
      const pid = spawnDetached(process.execPath, [sink, '--port', String(port), '--mail-dir', join(runtimeDir, 'mail')], { logPath: join(scratch, 'stray.log'), env: process.env });
      await waitFor(() => smtpAnswers('127.0.0.1', port), { description: 'the stray sink to listen' });
      return pid;
    };
    const lines: string[] = [];
    const first = await stray();
    await ensureStack({ env, log: (l) => lines.push(l) });
    expect(isAlive(first)).toBe(false);
    expect(lines.join('\n')).toContain(`smtp: stopping stray pid ${first}`);
    const second = await stray();
    const recorded = (await stackStatus({ env })).find((s) => s.piece === 'smtp')?.pid;
    expect(recorded).not.toBe(second);
    await stopStack({ quiet: true, env });
    expect(isAlive(second)).toBe(false);
    expect(isAlive(recorded)).toBe(false);
  });

  it('an override naming the address of a piece this stack runs keeps that piece (the export lines up prints), it is not stopped', async () => {
    const e = stackEndpoints();
    const runtimeDir = join(scratch, 'same-address');
    const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_STACK_DIR: runtimeDir, KAFKA_BROKERS: e.kafkaBrokers, SCHEMA_REGISTRY_URL: e.schemaRegistryUrl };
    delete env['SMTP_URL'];
    delete env['VIGIL_MAIL_DIR'];
    const first = await ensureStack({ quiet: true, env });
    const sinkPid = (await stackStatus({ env })).find((s) => s.piece === 'smtp')?.pid as number;
    expect(isAlive(sinkPid)).toBe(true);
    // The user exports what `up` printed and runs again: the same sink is used and still ours.
    const again = await ensureStack({ quiet: true, env: { ...env, SMTP_URL: first.smtpUrl } });
    expect(again.smtpUrl).toBe(first.smtpUrl);
    expect(isAlive(sinkPid)).toBe(true);
    const status = await stackStatus({ env });
    expect(status.find((s) => s.piece === 'smtp')).toMatchObject({ state: 'running', pid: sinkPid });
    expect((await stopStack({ quiet: true, env })).stopped).toContain('smtp');
    expect(isAlive(sinkPid)).toBe(false);
  });

  it('overrides are used as they are; down stops what this stack started (the sink) and removes its runtime dir', async () => {
    const e = stackEndpoints();
    const runtimeDir = join(scratch, 'own');
    const env: NodeJS.ProcessEnv = { ...process.env, VIGIL_STACK_DIR: runtimeDir, KAFKA_BROKERS: e.kafkaBrokers, SCHEMA_REGISTRY_URL: e.schemaRegistryUrl };
    delete env['SMTP_URL'];
    const own = await ensureStack({ quiet: true, env });
    expect(own.kafkaBrokers).toBe(e.kafkaBrokers);
    expect(own.schemaRegistryUrl).toBe(e.schemaRegistryUrl);
    // the shared stack's sink holds its port, so this one took another and says so
    expect(own.smtpUrl).not.toBe(e.smtpUrl);
    expect(own.mailDir).toBe(join(runtimeDir, 'mail'));
    expect(JSON.parse(readFileSync(join(runtimeDir, 'endpoints.json'), 'utf8'))).toEqual(own);
    const status = await stackStatus({ env });
    expect(status.map((s) => s.state)).toEqual(['external', 'external', expect.stringMatching(/running|external/), 'running']);
    const sinkPid = status.find((s) => s.piece === 'smtp')?.pid as number;
    expect(isAlive(sinkPid)).toBe(true);

    const result = await stopStack({ quiet: true, env });
    expect(result.stopped).toContain('smtp');
    expect(result.stopped).not.toContain('kafka');
    expect(isAlive(sinkPid)).toBe(false);
    expect(existsSync(runtimeDir)).toBe(false);
    // the shared stack is untouched
    expect((await stackStatus()).every((s) => s.state === 'running' || s.state === 'external')).toBe(true);
  });
});
