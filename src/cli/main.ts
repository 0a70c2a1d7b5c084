#!/usr/bin/env node
import { isVigilError } from '../errors/vigil-error.ts';
import { redact } from '../observability/redact.ts';
import { ensureFreshBreakerClient } from './fresh-build.ts';
import { exitWhenDone } from './exit-when-done.ts';
import { processIo, UsageError, type CommandIo } from './io.ts';

const HELP = `vigil — a stream-processing safety monitor for AI agents that act in the real world

Usage: vigil <command> [options]

Commands:
  run                 run the monitor: consume agent.actions, detect, act
  produce FILE        publish agent action events from a JSON Lines file to Kafka
  replay FILE         run every detector over a JSON Lines file, offline, and print the findings
  simulate            realistic agent traffic (and trouble) to Kafka, or to a JSON Lines file
  breakers …          list, show, open, close or reset circuit breakers
  demo                bring up the local stack, publish sample traffic, and show what vigil finds

Run "vigil <command> --help" for a command's options.
`;

type Command = (argv: string[], io: CommandIo) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.ts')).runCommand,
  produce: async () => (await import('./produce.ts')).produceCommand,
  replay: async () => (await import('./replay.ts')).replayCommand,
  simulate: async () => (await import('./simulate.ts')).simulateCommand,
  breakers: async () => (await import('./breakers.ts')).breakersCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
};

/**
 * A mistake in the command line (exit 2 with the usage hint): a UsageError, or node:util parseArgs'
 * ERR_PARSE_ARGS_*. Other errors may carry a `code` that is no string (kafkajs: a number), or none.
 */
export function isUsageProblem(e: unknown): boolean {
  if (e instanceof UsageError) return true;
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** Runs one vigil command line; returns the exit status. */
export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`vigil: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  try {
    await ensureFreshBreakerClient((line) => io.stderr.write(`${line}\n`));
    return await (await load())(rest, io);
  } catch (e) {
    if (isUsageProblem(e)) {
      io.stderr.write(`vigil ${name}: ${(e as Error).message}\nRun "vigil ${name} --help" for usage.\n`);
      return 2;
    }
    if (isVigilError(e)) {
      // vigil's own errors say what is wrong and what to check: no stack trace for the user
      io.stderr.write(`vigil ${name}: ${redact(e.message)}\n`);
      return e.retriable ? 1 : 2;
    }
    io.stderr.write(`vigil ${name}: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      exitWhenDone(code);
    },
    (e) => {
      process.stderr.write(`vigil: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
