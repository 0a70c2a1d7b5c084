import type { Admin } from 'kafkajs';
import type { MonitorChild } from './monitor-child.ts';

/**
 * How far a consumer group got on a topic: the sum of its committed offsets, polled. The bench times
 * a `vigil run` child by its commits (it commits a batch once the batch's effects are durable), from
 * the first commit seen to the one that covers the whole topic.
 */
export async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] });
  let n = 0;
  for (const t of res) for (const p of t.partitions) n += Math.max(0, Number(p.offset));
  return n;
}

export async function topicEnd(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

export interface Progress {
  /** ms (performance.now) of the first commit seen, and of the one that reached `total`. */
  firstAt: number;
  doneAt: number;
}

/**
 * Polls the group every `pollMs` until it committed `total` offsets; calls `onFirst` at the first
 * commit (for the CPU reading), `onProgress` every few seconds. Fails if `alive()` turns false (the
 * child died) or nothing moves for `stallMs`.
 */
export async function waitForCommits(
  admin: Admin,
  groupId: string,
  topic: string,
  total: number,
  opts: { pollMs?: number; stallMs?: number; onFirst?: () => void; onDone?: () => void; onProgress?: (n: number) => void; alive?: () => string | undefined },
): Promise<Progress> {
  const pollMs = opts.pollMs ?? 100;
  const stallMs = opts.stallMs ?? 180_000;
  let firstAt = 0;
  let last = -1;
  let lastMoved = performance.now();
  let lastReport = 0;
  for (;;) {
    const dead = opts.alive?.();
    if (dead) throw new Error(dead);
    const n = await committed(admin, groupId, topic);
    const now = performance.now();
    if (n > 0 && firstAt === 0) {
      firstAt = now;
      opts.onFirst?.();
    }
    if (n !== last) {
      last = n;
      lastMoved = now;
    } else if (now - lastMoved > stallMs) {
      throw new Error(`group ${groupId} stuck at ${n} of ${total} committed for ${Math.round(stallMs / 1000)} s`);
    }
    if (n >= total) {
      opts.onDone?.();
      return { firstAt, doneAt: now };
    }
    if (now - lastReport > 5000) {
      lastReport = now;
      opts.onProgress?.(n);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Waits (up to 60 s) until a `vigil run` child has joined its group; fails with its log's tail if it exits or never joins. */
export async function waitForJoin(admin: Admin, groupId: string, monitor: Pick<MonitorChild, 'proc' | 'tail'>): Promise<void> {
  for (const t0 = Date.now(); ; ) {
    const g = (await admin.describeGroups([groupId])).groups[0];
    if (g?.state === 'Stable' && g.members.length > 0) return;
    if (monitor.proc.exitCode !== null) throw new Error(`vigil run exited ${monitor.proc.exitCode}: ${monitor.tail()}`);
    if (Date.now() - t0 > 60_000) throw new Error(`vigil run did not join group ${groupId} in 60 s: ${monitor.tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
