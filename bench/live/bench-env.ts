import { randomUUID } from 'node:crypto';
import type { StackEndpoints } from '../../scripts/stack/index.ts';
import { isolatedEnv } from '../../src/config/isolated-env.ts';

/**
 * The environment of the bench's runs: one id per bench run (topics `<id>.…`), and per measured run
 * its own consumer group, Redis prefix and output topics, so no run sees another's offsets, state or
 * findings. The monitor children get exactly this env (src/config reads it, as in production).
 */
export class BenchEnv {
  readonly id = `lb-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}`;
  readonly base: NodeJS.ProcessEnv;

  /**
   * `idlePartitionMs`: VIGIL_IDLE_PARTITION_MS of the monitors, or undefined for the default (30 s).
   * Lowering it makes the last decisions settle sooner once the input is consumed, but a partition the
   * consumer has not reached for that long while it works through a backlog then counts as idle and
   * stops holding event time back: with 2 s on 1,000,000 events (6 partitions) vigil run raised
   * 12,415 orphaned_action findings where replay raises 58. The full run keeps the default; --quick
   * (a few thousand events, one fetch) uses 3 s.
   */
  constructor(stack: StackEndpoints, partitions: number, idlePartitionMs?: number) {
    this.base = {
      ...isolatedEnv(this.id, stack),
      VIGIL_PARTITIONS: String(partitions),
      // VIGIL_BENCH_LOG_LEVEL=debug (with VIGIL_BENCH_LOG_DIR) logs every batch's stage times
      VIGIL_LOG_LEVEL: process.env.VIGIL_BENCH_LOG_LEVEL ?? 'error',
      VIGIL_METRICS_PORT: '0',
      VIGIL_HTTP_PORT: '0',
      // seen-markers of a run leave the shared Redis within the hour even if the bench dies before its cleanup
      VIGIL_DEDUPE_TTL_SECONDS: '3600',
      ...(idlePartitionMs !== undefined ? { VIGIL_IDLE_PARTITION_MS: String(idlePartitionMs) } : {}),
      VIGIL_ONCALL_TO: 'bench-oncall@vigil.invalid',
    };
  }

  /** Input topic `input` (a name under the bench id), with a run's own group, prefix and outputs. */
  run(name: string, input = 'agent.actions', extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const p = `${this.id}.${name}`;
    return {
      ...this.base,
      VIGIL_TOPIC_ACTIONS: `${this.id}.${input}`,
      VIGIL_TOPIC_DLQ: `${p}.dlq`,
      VIGIL_TOPIC_FINDINGS: `${p}.safety.findings`,
      VIGIL_TOPIC_BREAKER_TRANSITIONS: `${p}.safety.breaker-transitions`,
      VIGIL_TOPIC_COMPENSATIONS: `${p}.safety.compensations`,
      KAFKA_GROUP_ID: `${p}-group`,
      VIGIL_REDIS_PREFIX: p,
      ...extra,
    };
  }
}
