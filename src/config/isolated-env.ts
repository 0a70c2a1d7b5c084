/** Where the services are (the local stack's endpoints, or production's). */
export interface ServiceEndpoints {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  redisUrl: string;
  smtpUrl?: string;
}

/**
 * The environment of a run that must not see any other run's events or state (the demo, a test, a
 * bench): the services' addresses, and topics, a consumer group and a Redis key prefix named after
 * `id`. Pass it to loadConfig, with any other setting added.
 */
export function isolatedEnv(id: string, services: ServiceEndpoints): NodeJS.ProcessEnv {
  return {
    KAFKA_BROKERS: services.kafkaBrokers,
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    REDIS_URL: services.redisUrl,
    ...(services.smtpUrl ? { SMTP_URL: services.smtpUrl } : {}),
    VIGIL_TOPIC_ACTIONS: `${id}.agent.actions`,
    VIGIL_TOPIC_DLQ: `${id}.agent.actions.dlq`,
    VIGIL_TOPIC_FINDINGS: `${id}.safety.findings`,
    VIGIL_TOPIC_BREAKER_TRANSITIONS: `${id}.safety.breaker-transitions`,
    VIGIL_TOPIC_COMPENSATIONS: `${id}.safety.compensations`,
    KAFKA_GROUP_ID: `${id}-group`,
    VIGIL_REDIS_PREFIX: id,
  };
}
