import { VigilError } from '../../src/errors/vigil-error.ts';

/** The names of the stack's pieces, as `status` prints them. */
export type PieceName = 'kafka' | 'schema-registry' | 'redis' | 'smtp';

/** A stack setting (an env override) is malformed: fix it, retrying cannot help. */
export class StackConfigError extends VigilError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/**
 * A piece of the stack could not be started or reached. Names the piece, says why, and where its log is
 * (with the log's last lines in the message) so the reader needs nothing else to start debugging.
 */
export class StackPieceError extends VigilError {
  readonly piece: PieceName;
  readonly logPath: string | undefined;
  constructor(piece: PieceName, reason: string, opts: { logPath?: string; logTail?: string; cause?: unknown } = {}) {
    const where = opts.logPath === undefined ? '' : `\n  log: ${opts.logPath}`;
    const tail = opts.logTail === undefined || opts.logTail.trim() === ''
      ? ''
      : `\n  last log lines:\n${opts.logTail.replace(/^/gm, '    | ')}`;
    super(`stack: ${piece} failed: ${reason}${where}${tail}`, { retriable: true, cause: opts.cause });
    this.piece = piece;
    this.logPath = opts.logPath;
  }
}
