import { Worker } from 'node:worker_threads';
import type { ValidEvent } from '../../processors/core/events.ts';
import { EventBatchReader } from './event-batch-reader.ts';
import { endReplay, replayEngineOf, type ReplayStreamOptions, type ReplayStreamStats } from './replay-stream.ts';
import type { ReplayWorkerData, ReplayWorkerMessage } from './replay-worker.ts';

/** Batches the reading thread may run ahead of the detectors (about 2,000 events each). */
const MAX_AHEAD = 8;

/**
 * `vigil replay --workers 2`: a second thread reads FILE, parses and validates the events
 * (src/detection/replay-worker.ts) while this one dedupes them and runs the detectors, in the same
 * order, so the findings are those of the one-thread replay (replayStream), in the same order, and so
 * are the bad lines reported and the counts. Worth it where a second core is idle: reading, parsing
 * and validating cost about as much as the detectors.
 */
export async function parallelReplay(file: string, opts: ReplayStreamOptions): Promise<ReplayStreamStats> {
  const engine = replayEngineOf(opts);
  const flow = new SharedArrayBuffer(4);
  const done = new Int32Array(flow);
  const data: ReplayWorkerData = { file, flow, maxAhead: MAX_AHEAD };
  const worker = new Worker(new URL('./replay-worker.ts', import.meta.url), { workerData: data });

  // Messages are taken in arrival (input) order; `wake` resumes the loop below when one arrives.
  const queue: ReplayWorkerMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (m: ReplayWorkerMessage) => {
    queue.push(m);
    notify();
  });
  worker.once('error', (e) => {
    failure ??= e;
    notify();
  });
  worker.once('exit', (code) => {
    exited = true;
    if (code !== 0) failure ??= new Error(`replay reader thread exited with ${code}`);
    notify();
  });

  const reader = new EventBatchReader();
  const push = (e: ValidEvent, line: number) => engine.push(e, line);
  let lines = 0;
  let bad = 0;
  // Bad lines come inside the batches, so they are reported among the events in line order, as with one thread.
  const onBad = (lineNo: number, reason: string) => {
    bad++;
    opts.onBadLine(lineNo, reason);
  };
  try {
    for (let head = 0; ; ) {
      if (head === queue.length) {
        queue.length = head = 0;
        if (failure) throw failure;
        if (exited) throw new Error('replay reader thread ended without its counts');
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const m = queue[head]!;
      queue[head++] = undefined as never;
      if (m.t === 'batch') {
        reader.read(m.batch, push, onBad);
        Atomics.add(done, 0, 1);
        Atomics.notify(done, 0);
        const buffer = m.batch.nums.buffer as ArrayBuffer;
        worker.postMessage(buffer, [buffer]); // written again by the reading thread
        lines = m.lines;
        if (opts.afterChunk && !(await opts.afterChunk(lines))) break;
      } else if (m.t === 'done') {
        ({ lines, bad } = m);
        break;
      } else {
        // keep errno details: the caller tells an unreadable file from a bug by them
        throw Object.assign(new Error(m.message), m.syscall ? { syscall: m.syscall, code: m.code } : {});
      }
    }
  } finally {
    await worker.terminate();
  }
  const watermark = endReplay(engine, opts);
  return { lines, bad, ...engine.stats, watermark };
}
