import type { Detector } from '../processors/core/detector.ts';
import type { ValidEvent } from '../processors/core/events.ts';
import type { Finding } from '../processors/core/finding.ts';
import { sliceId, SliceRunner, type Slot } from '../processors/engine/slice-runner.ts';
import type { RuleSet } from '../processors/engine/rule-set.ts';
import { defaultPolicy } from '../src/policy/load-policy.ts';
import type { RedisClient } from '../src/redis/connection.ts';

/**
 * A model of docs/partition-state-design.md, for its ceiling only: **not `vigil run`**. No fencing, no
 * restore, no Kafka, no crash safety. It measures what the design's two halves would cost:
 *   - one SliceRunner per partition that lives between batches (its slots are the state, as in replay),
 *     for the detectors whose slices one partition owns;
 *   - a checkpoint every `checkpointEvents` events of a partition: the slots changed since the last one
 *     are serialised and written with one HSET (and one HDEL) into the partition's hash, with its offset,
 *     in one round trip. A slice born and dropped between two checkpoints is never written.
 * The detectors whose slices several partitions feed (agent, vendor) run in one shared in-memory runner
 * fed every event, as replay runs them: their Redis path (0.5 % of touches) is left out, so the model is
 * optimistic there. Which detectors a partition owns is read from the traffic: those whose every key was
 * fed by one partition only.
 */
export interface PartitionModelResult {
  seconds: number;
  cpuS: number;
  findings: Finding[];
  /** Detector kinds run per partition (owned) and in the shared runner. */
  owned: string[];
  shared: string[];
  checkpoints: number;
  /** Slices written (HSET fields), deleted (HDEL fields), and born and dropped between checkpoints (not written). */
  written: number;
  deleted: number;
  neverWritten: number;
}

export async function runPartitionModel(o: {
  detectors: readonly Detector<any, any>[];
  parts: readonly (readonly { e: ValidEvent; o: number }[])[];
  /** The events in their global order (for the shared runner). */
  events: readonly ValidEvent[];
  redis: RedisClient;
  prefix: string;
  checkpointEvents: number;
}): Promise<PartitionModelResult> {
  // which detectors a partition owns: every key they made was fed by one partition
  const keyPart = o.detectors.map(() => new Map<string, number>());
  const sharedIdx = new Set<number>();
  o.parts.forEach((list, p) => {
    for (const { e } of list) {
      o.detectors.forEach((d, i) => {
        const k = d.keyOf(e);
        if (k === undefined) return;
        const seen = keyPart[i]!.get(k);
        if (seen === undefined) keyPart[i]!.set(k, p);
        else if (seen !== p) sharedIdx.add(i);
      });
    }
  });
  const owned = o.detectors.filter((_, i) => !sharedIdx.has(i));
  const shared = o.detectors.filter((_, i) => sharedIdx.has(i));
  const rulesOf = (ds: readonly Detector<any, any>[]): RuleSet => defaultPolicy({ detectors: ds }).rules;
  const findings: Finding[] = [];
  const onFinding = (f: Finding) => void findings.push(f);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ownedRules = rulesOf(owned);
  const runners = o.parts.map(() => new SliceRunner({ detectors: owned, rules: ownedRules, track: true, onFinding }));
  const stored = o.parts.map(() => new Set<Slot>()); // slots whose field is in the partition's hash
  let checkpoints = 0;
  let written = 0;
  let deleted = 0;
  let neverWritten = 0;
  const checkpoint = async (p: number, offset: number) => {
    const runner = runners[p]!;
    const fields: string[] = [];
    const gone: string[] = [];
    for (const slot of runner.touched) {
      slot.touched = false;
      const id = sliceId(owned[slot.det]!.kind, slot.key);
      if (slot.dropped) {
        if (stored[p]!.delete(slot)) gone.push(id);
        else neverWritten++;
      } else {
        fields.push(id, JSON.stringify({ s: slot.state, k: slot.matchKey }));
        stored[p]!.add(slot);
      }
    }
    runner.touched.length = 0;
    const hash = `${o.prefix}:ps:{ps:${p}}:slices`;
    const pipe = o.redis.pipeline();
    if (fields.length > 0) pipe.hset(hash, ...fields);
    if (gone.length > 0) pipe.hdel(hash, ...gone);
    pipe.set(`${o.prefix}:ps:{ps:${p}}:offset`, String(offset));
    await pipe.exec();
    checkpoints++;
    written += fields.length / 2;
    deleted += gone.length;
  };
  const sharedRunner = shared.length > 0 ? new SliceRunner({ detectors: shared, rules: rulesOf(shared), onFinding }) : undefined;
  // partitions in turn, `checkpointEvents` at a time (as one consumer takes them); the shared runner
  // sees the same events in the same turns
  for (let at = 0; ; at += o.checkpointEvents) {
    let any = false;
    for (let p = 0; p < o.parts.length; p++) {
      const chunk = o.parts[p]!.slice(at, at + o.checkpointEvents);
      if (chunk.length === 0) continue;
      any = true;
      const runner = runners[p]!;
      for (const { e } of chunk) {
        runner.process(e);
        sharedRunner?.process(e);
      }
      await checkpoint(p, chunk.at(-1)!.o);
    }
    if (!any) break;
  }
  const c = process.cpuUsage(cpu0);
  return {
    seconds: (performance.now() - t0) / 1000,
    cpuS: (c.user + c.system) / 1e6,
    findings,
    owned: owned.map((d) => d.kind),
    shared: shared.map((d) => d.kind),
    checkpoints,
    written,
    deleted,
    neverWritten,
  };
}
