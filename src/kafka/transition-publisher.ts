import type { Producer } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { BreakerTransition } from '../breakers/transition.ts';

/**
 * Publishes breaker transitions to `safety.breaker-transitions` (the audit trail), keyed by
 * `scope:scopeId` so one breaker's history stays in order on one partition. Transition ids are
 * deterministic: a consumer dedupes on transitionId.
 */
export class TransitionPublisher {
  private readonly d: { producer: Producer; topic: string; avro?: { registry: SchemaRegistry; schemaId: number } };
  constructor(deps: { producer: Producer; topic: string; avro?: { registry: SchemaRegistry; schemaId: number } }) {
    this.d = deps;
  }

  async publish(t: BreakerTransition): Promise<void> {
    await this.publishAll([t]);
  }

  /**
   * Several transitions in ONE produce, in the given order (a breaker's transitions keep their order:
   * same key, same partition). Resolves once the broker acknowledged all of them.
   */
  async publishAll(ts: readonly BreakerTransition[]): Promise<void> {
    if (ts.length === 0) return;
    const messages = await Promise.all(
      ts.map(async (t) => ({
        key: `${t.scope}:${t.scopeId}`,
        value: this.d.avro ? await this.d.avro.registry.encode(this.d.avro.schemaId, t) : Buffer.from(JSON.stringify(t)),
        headers: { 'vigil-transition-id': t.transitionId },
      })),
    );
    await this.d.producer.send({ topic: this.d.topic, acks: -1, messages });
  }
}
