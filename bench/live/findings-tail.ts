import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Finding } from '../../processors/core/finding.ts';

/** A finding as read back from the findings topic, with its record timestamp. */
export interface TailedFinding {
  finding: Finding;
  /** Record timestamp (ms): the broker's append time on a LogAppendTime topic, else the producer's. */
  recordTs: number;
  receivedAt: number;
}

/**
 * Reads a findings topic from its beginning for as long as it runs (Avro via the registry, or JSON),
 * keeping the findings by id: what `vigil run` published, compared with replay and timed for latency.
 */
export interface FindingsTail {
  byId: Map<string, TailedFinding>;
  /** performance.now() of the last new finding (0 if none yet). */
  lastNewAt(): number;
  onFinding?: (f: TailedFinding) => void;
  stop(): Promise<void>;
}

export async function tailFindings(kafka: Kafka, topic: string, registry: SchemaRegistry | undefined, groupId: string): Promise<FindingsTail> {
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const byId = new Map<string, TailedFinding>();
  let lastNew = 0;
  const tail: FindingsTail = {
    byId,
    lastNewAt: () => lastNew,
    stop: () => consumer.disconnect(),
  };
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        if (!m.value) continue;
        const v = m.value;
        const finding = (v[0] === 0 && registry ? await registry.decode(v) : JSON.parse(v.toString())) as Finding;
        if (byId.has(finding.findingId)) continue;
        const t: TailedFinding = { finding, recordTs: Number(m.timestamp), receivedAt: Date.now() };
        byId.set(finding.findingId, t);
        lastNew = performance.now();
        tail.onFinding?.(t);
      }
    },
  });
  return tail;
}

/** Waits until no new finding has come for `quietMs` (and at least `minMs` passed). */
export async function waitQuiet(tail: FindingsTail, quietMs: number, minMs: number, maxMs = 300_000): Promise<void> {
  const start = performance.now();
  for (;;) {
    const now = performance.now();
    if (now - start >= minMs && now - Math.max(tail.lastNewAt(), start) >= quietMs) return;
    if (now - start > maxMs) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A finding in a line: what a mismatch lists (`<findingId> <kind> <scope> <detectedAt>`). */
export function briefOf(f: { findingId: string; kind: string; scope: { type: string; id: string }; detectedAt: string }): string {
  return `${f.findingId} ${f.kind} ${f.scope.type}:${f.scope.id} ${f.detectedAt}`;
}

/** How two sets of findings (id → brief) compare. */
export interface FindingMatch {
  live: number;
  replay: number;
  both: number;
  /** The first 20 found by one side only, as briefOf lines. */
  onlyLive: string[];
  onlyReplay: string[];
  equal: boolean;
}

export function matchFindings(live: Map<string, string>, replay: Map<string, string>): FindingMatch {
  const onlyLive = [...live.keys()].filter((id) => !replay.has(id));
  const onlyReplay = [...replay.keys()].filter((id) => !live.has(id));
  return {
    live: live.size,
    replay: replay.size,
    both: live.size - onlyLive.length,
    onlyLive: onlyLive.slice(0, 20).map((id) => live.get(id)!),
    onlyReplay: onlyReplay.slice(0, 20).map((id) => replay.get(id)!),
    equal: onlyLive.length === 0 && onlyReplay.length === 0,
  };
}
