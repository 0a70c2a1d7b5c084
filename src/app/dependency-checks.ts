import type { Admin, Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../config/config.ts';
import { createMailer } from '../notify/email-transport.ts';
import type { Dependency } from '../observability/dependency-probe.ts';
import type { RedisClient } from '../redis/connection.ts';

/**
 * How the monitor asks each dependency whether it answers (DependencyProbe): Redis PING on the
 * monitor's own client (down at once while it reconnects), Kafka a cluster description through an admin
 * client of its own (re-made after a failure), the registry the id of the audit topic's schema, SMTP a
 * connect, greeting and login without sending. Only what the monitor uses is asked: no registry
 * configured, no SMTP URL, no check.
 */
export function dependencyChecks(config: Config, d: { redis: RedisClient; kafka: Kafka; registry: SchemaRegistry | undefined }): { checks: Partial<Record<Dependency, () => Promise<unknown>>>; close(): Promise<void> } {
  let admin: Admin | undefined;
  const checks: Partial<Record<Dependency, () => Promise<unknown>>> = {
    redis: async () => {
      if (d.redis.status !== 'ready') throw new Error(`the connection is ${d.redis.status}`);
      await d.redis.ping();
    },
    kafka: async () => {
      const a = (admin ??= d.kafka.admin());
      try {
        await a.connect();
        await a.describeCluster();
      } catch (e) {
        if (admin === a) admin = undefined;
        void a.disconnect().catch(() => {});
        throw e;
      }
    },
  };
  if (d.registry) {
    const registry = d.registry;
    checks.schema_registry = () => registry.getLatestSchemaId(`${config.kafka.topics.breakerTransitions}-value`);
  }
  const mailer = config.smtp.url ? createMailer(config.smtp.url, Math.min(config.smtp.timeoutMs, 3000)) : undefined;
  if (mailer) {
    checks.smtp = async () => {
      await mailer.verify!();
    };
  }
  return {
    checks,
    /** Lets the process exit: the admin connection and the SMTP transport are the probe's own. */
    async close() {
      mailer?.close();
      const a = admin;
      admin = undefined;
      await a?.disconnect().catch(() => {});
    },
  };
}
