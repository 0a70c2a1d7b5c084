import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { UsageError } from './io.ts';

export interface JsonlLine {
  lineNo: number;
  /** The parsed value, or undefined when the line is not valid JSON (see `error`). */
  value?: unknown;
  error?: string;
}

/**
 * Streams a JSON Lines file (or stdin for `-`) line by line without loading it whole. Blank lines are
 * skipped; a line that is not JSON is yielded with its error so the caller can report its number.
 * @throws UsageError when the file cannot be opened (before yielding anything).
 */
export async function* readJsonl(path: string, stdin: Readable): AsyncGenerator<JsonlLine> {
  let input: Readable;
  if (path === '-') input = stdin;
  else {
    try {
      await access(path);
    } catch (e) {
      throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      yield { lineNo, value: JSON.parse(line) };
    } catch (e) {
      yield { lineNo, error: `not valid JSON: ${(e as Error).message}` };
    }
  }
}
