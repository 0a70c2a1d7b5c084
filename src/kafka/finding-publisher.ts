import type { Producer } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Finding } from '../../processors/core/finding.ts';
import { EffectMarkers } from '../redis/effect-markers.ts';
import type { FindingSink } from '../detection/finding-sink.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';

export interface FindingPublisherDeps {
  producer: Producer;
  topic: string;
  /** Avro through the registry when given, else JSON. */
  avro?: { registry: SchemaRegistry; schemaId: number };
  redis: RedisClient;
  keys: KeyBuilder;
  /** How long a published findingId is remembered (default 7 days). */
  rememberSeconds?: number;
}

/**
 * Publishes findings to `safety.findings`, keyed by findingId, once: a finding whose id was already
 * published (a redelivered batch, a restart, a second instance) is skipped. The marker is written
 * after the broker acknowledged, so a crash in between publishes the finding again rather than never;
 * consumers key on findingId.
 *
 * A batch costs one round trip to check the markers (one MGET on a single node; on a Cluster, where
 * each marker has its own slot, one GET each, auto-pipelined into one round trip per node), one produce,
 * and one round trip to write the markers (src/redis/effect-markers.ts).
 */
export class KafkaFindingPublisher implements FindingSink {
  private readonly d: FindingPublisherDeps;
  private readonly markers: EffectMarkers;
  constructor(deps: FindingPublisherDeps) {
    this.d = deps;
    this.markers = new EffectMarkers(deps.redis);
  }

  async publish(findings: readonly Finding[]): Promise<void> {
    if (findings.length === 0) return;
    const { keys } = this.d;
    const unique = [...new Map(findings.map((f) => [f.findingId, f])).values()];
    const markers = unique.map((f) => keys.findingEffect('published', f.findingId));
    const seen = await this.markers.present(markers);
    const fresh = unique.filter((_, i) => !seen[i]);
    if (fresh.length === 0) return;
    const messages = await Promise.all(
      fresh.map(async (f) => ({
        key: f.findingId,
        value: this.d.avro ? await this.d.avro.registry.encode(this.d.avro.schemaId, toAvro(f)) : Buffer.from(JSON.stringify(f)),
        headers: { 'vigil-finding-kind': f.kind, 'vigil-severity': f.severity },
      })),
    );
    await this.d.producer.send({ topic: this.d.topic, acks: -1, messages });
    await this.markers.mark(fresh.map((f) => keys.findingEffect('published', f.findingId)), this.d.rememberSeconds ?? 7 * 86400);
  }
}

function toAvro(f: Finding): Record<string, unknown> {
  return { ...f, traceIds: f.traceIds ?? null, metrics: f.metrics ?? null, subjects: f.subjects ?? null, target: f.target ?? null };
}
