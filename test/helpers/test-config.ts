import { loadConfig, type Config } from '../../src/config/config.ts';
import { stackEndpoints } from './stack-env.ts';
import { randomName } from './wait.ts';

/**
 * A Config for one integration test: the local stack's addresses, and topics, consumer group and Redis
 * key prefix of its own, so tests never see each other's events or state.
 */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const s = stackEndpoints();
  const id = randomName('t');
  return {
    KAFKA_BROKERS: s.kafkaBrokers,
    SCHEMA_REGISTRY_URL: s.schemaRegistryUrl,
    REDIS_URL: s.redisUrl,
    SMTP_URL: s.smtpUrl,
    VIGIL_TOPIC_ACTIONS: `${id}.agent.actions`,
    VIGIL_TOPIC_DLQ: `${id}.agent.actions.dlq`,
    VIGIL_TOPIC_FINDINGS: `${id}.safety.findings`,
    VIGIL_TOPIC_BREAKER_TRANSITIONS: `${id}.safety.breaker-transitions`,
    VIGIL_TOPIC_COMPENSATIONS: `${id}.safety.compensations`,
    KAFKA_GROUP_ID: `${id}-group`,
    VIGIL_REDIS_PREFIX: id,
    VIGIL_PARTITIONS: '3',
    VIGIL_METRICS_PORT: '0',
    VIGIL_HTTP_PORT: '0',
    VIGIL_LOG_LEVEL: 'warn',
    ...extra,
  };
}

export function testConfig(extra: Record<string, string> = {}): { env: NodeJS.ProcessEnv; config: Config } {
  const env = testEnv(extra);
  return { env, config: loadConfig(env) };
}
