import type { Readable } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import type { Detector } from '../../processors/core/detector.ts';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import type { OutOfBoundsReason } from '../../processors/engine/event-time-guard.ts';
import type { RuleSet } from '../../processors/engine/rule-set.ts';

export interface ReplayStreamOptions {
  detectors: readonly Detector<any, any>[];
  rules: RuleSet;
  onFinding(f: Finding): void;
  /** A line that is not JSON or not a valid event: its number and why. */
  onBadLine(lineNo: number, reason: string): void;
  /** An event refused for its event time (a hostile clock: EventTimeGuard): its line, reason and why. */
  onOutOfBounds?(lineNo: number, reason: OutOfBoundsReason, detail: string): void;
  /** An event still held at the end of the input (its time never confirmed): it never ran. */
  onHeldAtEnd?(lineNo: number, detail: string): void;
  /**
   * At the end, settle every pending decision into findings, as if time went on with no other event.
   * Default false: decisions not due by the input's last watermark are undecided and go to onUndecided.
   */
  settleAtEnd?: boolean;
  /** What settling at the end would find (only without settleAtEnd). */
  onUndecided?(f: Finding): void;
  /** After each chunk of input (lines read so far); may wait (output backpressure). Returning false stops the replay. */
  afterChunk?(linesRead: number): Promise<boolean> | boolean;
}

export interface ReplayStreamStats {
  lines: number;
  events: number;
  duplicates: number;
  bad: number;
  findings: number;
  /** Events refused for their event time. */
  outOfBounds: number;
  /** Events still held at the end (never ran). */
  heldAtEnd: number;
  /** Decisions not due by the last watermark (without settleAtEnd). */
  undecided: number;
  /** The watermark the input reached (before any settling at the end); −Infinity for an empty input. */
  watermark: number;
}

/** The engine of a replay, reporting refused events by line (shared by the one- and two-thread replays). */
export function replayEngineOf(opts: ReplayStreamOptions): ReplayEngine {
  const onOut = opts.onOutOfBounds;
  return new ReplayEngine({
    detectors: opts.detectors,
    rules: opts.rules,
    onFinding: opts.onFinding,
    ...(onOut ? { onOutOfBounds: (r: { at: number; reason: OutOfBoundsReason; detail: string }) => onOut(r.at, r.reason, r.detail) } : {}),
  });
}

/** Ends a replay's input: held events reported, pending decisions settled or reported as undecided. Returns the last watermark. */
export function endReplay(engine: ReplayEngine, opts: ReplayStreamOptions): number {
  const onHeld = opts.onHeldAtEnd;
  const held = (h: { at: number; detail: string }) => onHeld?.(h.at, h.detail);
  let watermark = engine.watermark;
  engine.finish({
    held,
    ...(opts.settleAtEnd ? {} : { undecided: opts.onUndecided ?? (() => {}) }),
    // a short input starts its clock only now: its watermark is the one it reached then
    beforeSettle: () => (watermark = engine.watermark),
  });
  return watermark;
}

/**
 * The replay loop: streams JSON Lines (never the whole input), validates each line, runs the pure
 * engine, and ends the input (endReplay). `vigil replay` with one thread; parallel-replay.ts with two.
 * @throws the input stream's error (e.g. a read error).
 */
export async function replayStream(input: AsyncIterable<Buffer | string>, opts: ReplayStreamOptions): Promise<ReplayStreamStats> {
  const engine = replayEngineOf(opts);
  let lines = 0;
  let bad = 0;
  outer: for await (const chunk of readLines(input)) {
    // Each event runs as soon as it is parsed, so it dies young (cheap for the garbage collector).
    for (const line of chunk) {
      lines++;
      if (line.length === 0 || line.trim().length === 0) continue;
      const event = parseEventLine(line);
      if (typeof event === 'string') {
        bad++;
        opts.onBadLine(lines, event);
        continue;
      }
      engine.push(event, lines);
    }
    if (opts.afterChunk && !(await opts.afterChunk(lines))) break outer;
  }
  const watermark = endReplay(engine, opts);
  return { lines, bad, ...engine.stats, watermark };
}

/**
 * Streams a byte stream as arrays of lines (one array per chunk read), never holding the whole input:
 * cheaper than one async step per line. A final line without a newline is included; `\r\n` works.
 */
/** One JSON Lines line as a valid event, or why it is a bad line. */
export function parseEventLine(line: string): ValidEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return `not valid JSON: ${(e as Error).message}`;
  }
  try {
    return validateEvent(value);
  } catch (e) {
    return `invalid event: ${(e as Error).message}`;
  }
}

export async function* readLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  let rest = '';
  const decoder = new StringDecoder('utf8'); // a character split across two chunks stays whole
  for await (const chunk of input) {
    // A chunk of whole, valid UTF-8 with nothing pending in the decoder decodes alike without it, and
    // Buffer#toString is several times faster than StringDecoder#write.
    const text = typeof chunk === 'string' ? chunk : (decoder as StringDecoder & { lastNeed: number }).lastNeed === 0 && isUtf8(chunk) ? chunk.toString('utf8') : decoder.write(chunk);
    // The chunk is split as it is (not joined to the previous chunk's unfinished line first, which would
    // copy the whole chunk): only its first line is joined.
    const lines = text.split('\n');
    const cr = rest.length > 0 && rest.charCodeAt(rest.length - 1) === 13;
    lines[0] = rest + lines[0]!;
    rest = lines.pop()!;
    if (cr || text.indexOf('\r') !== -1) {
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
      }
    }
    yield lines;
  }
  rest += decoder.end();
  if (rest.length > 0) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}

export type { Readable };
