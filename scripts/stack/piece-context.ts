import { choosePort } from './process-utils.ts';
import type { StackConfig } from './stack-config.ts';

/** What every piece's start function gets from the orchestrator (scripts/stack/index.ts). */
export interface PieceContext {
  readonly config: StackConfig;
  /** A progress line (to stderr unless --quiet). */
  readonly log: (msg: string) => void;
  /** <runtimeDir>/logs: one log file per piece. */
  readonly logsDir: string;
  /**
   * Claims `preferred` if it is free (and not claimed by another piece in this run), else a free port.
   * Serialized, so pieces starting in parallel never get the same port.
   */
  readonly claimPort: (preferred: number) => Promise<number>;
}

/** A claimPort for one `up` run. */
export function portClaimer(): (preferred: number) => Promise<number> {
  const claimed = new Set<number>();
  let queue: Promise<unknown> = Promise.resolve();
  return (preferred) => {
    const next = queue.then(async () => {
      const port = await choosePort(preferred, claimed);
      claimed.add(port);
      return port;
    });
    queue = next.catch(() => undefined);
    return next;
  };
}
