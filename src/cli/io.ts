import type { Readable, Writable } from 'node:stream';
import { processEnv } from '../config/process-env.ts';

/** The streams a command uses, so tests can run commands in-process. */
export interface CommandIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
}

export const processIo = (): CommandIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: processEnv() });

/** A usage error: the command line is wrong. Exit status 2, with the message and a hint to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}
