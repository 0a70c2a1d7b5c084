import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { EventBatch } from './event-batch-layout.ts';
import { EventBatchWriter } from './event-batch-writer.ts';
import { parseEventLine, readLines } from './replay-stream.ts';

/** What `vigil replay --workers 2` hands its reading thread. */
export interface ReplayWorkerData {
  file: string;
  /**
   * Flow control: an Int32Array over it holds the number of batches the detectors' thread has
   * finished; this thread stays at most `maxAhead` batches ahead of it.
   */
  flow: SharedArrayBuffer;
  maxAhead: number;
}

/** Messages the reading thread posts, in input order. */
export type ReplayWorkerMessage =
  | { t: 'batch'; batch: EventBatch; lines: number }
  | { t: 'done'; lines: number; bad: number }
  | { t: 'error'; message: string; syscall?: string; code?: string };

/**
 * The reading thread of `vigil replay --workers 2`: reads FILE as JSON Lines, parses and validates
 * exactly as the one-thread replay does (src/detection/replay-stream.ts), and posts the valid events
 * in batches (src/detection/event-batch-writer.ts) for the detectors' thread, which dedupes and runs them.
 */
const data = workerData as ReplayWorkerData;
const port = parentPort!;
const flow = new Int32Array(data.flow);
const post = (m: ReplayWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
try {
  const writer = new EventBatchWriter();
  // The detectors' thread gives each batch's buffer back once read: it is written again.
  port.on('message', (buffer: ArrayBuffer) => writer.recycle(buffer));
  let lines = 0;
  let bad = 0;
  let sent = 0;
  const send = () => {
    // Wait while the detectors' thread has `maxAhead` batches to go (it notifies as it finishes one).
    for (let done = Atomics.load(flow, 0); sent - done >= data.maxAhead; done = Atomics.load(flow, 0)) Atomics.wait(flow, 0, done, 1000);
    const batch = writer.take();
    post({ t: 'batch', batch, lines }, [batch.nums.buffer as ArrayBuffer]);
    sent++;
  };
  for await (const chunk of readLines(createReadStream(data.file, { highWaterMark: 1 << 20 }))) {
    for (const line of chunk) {
      lines++;
      if (line.length === 0 || line.trim().length === 0) continue;
      const event = parseEventLine(line);
      if (typeof event === 'string') {
        bad++;
        writer.addBad(lines, event);
        continue;
      }
      writer.add(event, lines);
      if (writer.full) send();
    }
    send(); // one batch (at least) per chunk read, as the one-thread replay reports progress per chunk
  }
  post({ t: 'done', lines, bad });
} catch (e) {
  const { syscall, code } = e as NodeJS.ErrnoException;
  post({ t: 'error', message: (e as Error).message, ...(syscall ? { syscall } : {}), ...(code ? { code } : {}) });
}
