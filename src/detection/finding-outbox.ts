import type { Finding } from '../../processors/core/finding.ts';
import type { Logger } from '../observability/logger.ts';
import type { FindingSink } from './finding-sink.ts';
import type { SliceStore } from './slice-store.ts';

/**
 * The findings a pass made, between the detector state that made them and the findings topic. The
 * slice save files them as unsent in the same script call as the state (saveSlices-n.lua), so they
 * are never saved as made without being kept to send; `publish` sends them and then acknowledges them
 * (removes them from the unsent ones). A publish that fails, or a crash before it, leaves them filed: a
 * redelivered batch sends again what the marks of the slices it touches hold, and `sendLeftovers` (each
 * tick, any instance) sends every finding left unsent, whatever made it: a batch's due timer on a slice
 * its redelivery does not touch, or a tick's settle pass; neither is found again by a redelivery.
 */
export class FindingOutbox {
  private readonly store: SliceStore;
  private readonly sink: FindingSink;
  private readonly graceMs: number;
  private readonly logger: Logger | undefined;

  /** `graceMs`: how old (Redis time) an unsent finding must be before `sendLeftovers` takes it (its pass normally sends it within milliseconds). */
  constructor(store: SliceStore, sink: FindingSink, o: { graceMs: number; logger?: Logger | undefined }) {
    this.store = store;
    this.sink = sink;
    this.graceMs = o.graceMs;
    this.logger = o.logger;
  }

  /** Publishes a pass's findings, then acknowledges them; `bySlice`: slice id (`<kind>:<key>`) → its findings in the pass. */
  async publish(findings: readonly Finding[], bySlice: ReadonlyMap<string, readonly Finding[]>): Promise<void> {
    if (findings.length === 0) return;
    await this.sink.publish(findings);
    const filed: [number, string][] = [];
    for (const [id, fs] of bySlice) {
      const at = id.indexOf(':');
      if (at <= 0) continue;
      const b = this.store.bucketOf(id.slice(0, at), id.slice(at + 1));
      for (const f of fs) filed.push([b, f.findingId]);
    }
    await this.acknowledge(filed);
  }

  /** Publishes the findings filed as unsent at least the grace time before `now` (Redis ms); returns how many. */
  async sendLeftovers(now: number): Promise<number> {
    const left = (await this.store.unsent()).filter((u) => u.at <= now - this.graceMs);
    if (left.length === 0) return 0;
    this.logger?.warn('publishing findings a pass saved but left unsent', { count: left.length, findings: left.slice(0, 20).map((u) => `${u.finding.findingId} ${u.finding.kind}`) });
    await this.sink.publish(left.map((u) => u.finding));
    await this.acknowledge(left.map((u) => [u.bucket, u.finding.findingId]));
    return left.length;
  }

  /** Removes published findings from the unsent ones: (bucket, findingId) pairs, one HDEL per bucket. */
  private async acknowledge(filed: readonly (readonly [number, string])[]): Promise<void> {
    const byBucket = new Map<number, string[]>();
    for (const [b, id] of filed) {
      const ids = byBucket.get(b);
      if (ids) ids.push(id);
      else byBucket.set(b, [id]);
    }
    await this.store.acknowledge(byBucket);
  }
}
