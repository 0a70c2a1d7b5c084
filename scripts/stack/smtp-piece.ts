import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { PieceContext } from './piece-context.ts';
import { isAlive, pollUntil, spawnDetached, stopOnFailure, tailFile } from './process-utils.ts';
import { StackPieceError } from './stack-errors.ts';
import type { PieceRecord } from './stack-state.ts';

/** The SMTP sink (scripts/stack/smtp-sink.ts), run as a detached Node process. */

export const SMTP_PORT = 12525;

/** True when host:port greets with an SMTP 220 banner within `timeoutMs`. */
export function smtpAnswers(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffered = '';
    const done = (ok: boolean): void => {
      if (ok) socket.end('QUIT\r\n');
      else socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      if (buffered.includes('\n')) done(buffered.startsWith('220'));
    });
  });
}

/** Starts the sink with `node` (this very Node binary) and waits for its banner. */
export async function startSmtp(ctx: PieceContext): Promise<PieceRecord> {
  const port = await ctx.claimPort(SMTP_PORT);
  const mailDir = join(ctx.config.runtimeDir, 'mail');
  mkdirSync(mailDir, { recursive: true });
  const logPath = join(ctx.logsDir, 'smtp.log');
  ctx.log(`smtp: starting the SMTP sink on 127.0.0.1:${port}, mail in ${mailDir}`);
  const script = join(ctx.config.repoDir, 'scripts', 'stack', 'smtp-sink.ts');
  const pid = spawnDetached(process.execPath, [script, '--port', String(port), '--mail-dir', mailDir], {
    logPath,
    cwd: ctx.config.repoDir,
    env: ctx.config.childEnv,
  });
  await stopOnFailure(pid, () =>
    pollUntil(() => smtpAnswers('127.0.0.1', port, 500), {
      timeoutMs: Math.min(ctx.config.startTimeoutMs, 30_000),
      intervalMs: 100,
      abort: () => (isAlive(pid) ? undefined : 'the sink process exited'),
      onTimeout: (why) => new StackPieceError('smtp', why, { logPath, logTail: tailFile(logPath) }),
    }),
  );
  return {
    piece: 'smtp',
    managed: true,
    address: `smtp://127.0.0.1:${port}`,
    pid,
    ports: { smtp: port },
    logPath,
    detail: `SMTP sink, mail in ${mailDir}`,
    startedAt: new Date().toISOString(),
  };
}
