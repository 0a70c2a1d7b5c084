import { Kafka, Partitioners, logLevel as KafkaLogLevel, type LogEntry, type ProducerConfig } from 'kafkajs';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { quietKnownKafkajsWarnings } from './quiet-known-warnings.ts';

/** Maps kafkajs's internal log lines onto vigil's logger (kafkajs is chatty at info: keep it at warn). */
function logCreator(logger: Logger) {
  return () => ({ namespace, level, log }: LogEntry) => {
    const { message, timestamp: _t, logger: _l, ...rest } = log;
    const fields = { component: `kafkajs.${namespace}`, ...rest };
    if (level === KafkaLogLevel.ERROR) logger.error(message, fields);
    else if (level === KafkaLogLevel.WARN) logger.warn(message, fields);
    else logger.debug(message, fields);
  };
}

/** The kafkajs client for vigil's brokers. */
export function createKafka(config: Config, logger: Logger, clientIdSuffix = ''): Kafka {
  quietKnownKafkajsWarnings();
  return new Kafka({
    clientId: config.kafka.clientId + clientIdSuffix,
    brokers: [...config.kafka.brokers],
    logLevel: KafkaLogLevel.WARN,
    logCreator: logCreator(logger),
    connectionTimeout: 3000,
    retry: { initialRetryTime: 200, retries: 8 },
  });
}

/**
 * vigil's producer settings: the murmur2 partitioner that Java clients use (so an event keyed by userId
 * lands on the partition a Java or Go producer would pick), no auto-created topics.
 */
export const PRODUCER_OPTIONS: ProducerConfig = Object.freeze({
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
});
