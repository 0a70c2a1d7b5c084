import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { smtpAnswers } from '../../scripts/stack/smtp-piece.ts';
import { freePort } from './redis-server.ts';
import { waitFor } from './wait.ts';
import { stopChild } from './child-process.ts';

const SINK = fileURLToPath(new URL('../../scripts/stack/smtp-sink.ts', import.meta.url));

/** An SMTP sink of a test's own (scripts/stack/smtp-sink.ts) that the test can stop and start again. */
export interface OwnSmtpSink {
  port: number;
  url: string;
  mailDir: string;
  /** Stops it (SIGKILL: the server is simply gone) and waits until the port is closed. */
  stop(): Promise<void>;
  /** Starts it again on the same port and mail dir. */
  start(): Promise<void>;
  /** Stops it and removes its mail dir. */
  dispose(): Promise<void>;
}

export async function startOwnSmtpSink(): Promise<OwnSmtpSink> {
  const port = await freePort();
  const mailDir = mkdtempSync(join(tmpdir(), 'vigil-mail-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(process.execPath, [SINK, '--port', String(port), '--mail-dir', mailDir], { stdio: 'ignore' });
    await waitFor(() => smtpAnswers('127.0.0.1', port, 300), { timeoutMs: 20_000, description: `the SMTP sink on port ${port}` });
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    await stopChild(c, 'SIGKILL');
  };
  await start();
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mailDir,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(mailDir, { recursive: true, force: true });
    },
  };
}
