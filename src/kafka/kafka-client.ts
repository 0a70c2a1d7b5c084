import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type Admin, type KafkaConfig, type LogEntry, type ProducerConfig, type RetryOptions } from 'kafkajs';
import type { Config } from '../config/config.ts';
import { VigilError } from '../errors/vigil-error.ts';
import type { Logger } from '../observability/logger.ts';
import { kafkajsLogLevel } from './kafkajs-log-level.ts';
import { quietKnownKafkajsWarnings } from './quiet-known-warnings.ts';

/** Maps kafkajs's internal log lines onto vigil's logger, at the level kafkajsLogLevel gives them. */
function logCreator(logger: Logger) {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _t, logger: _l, ...rest } = entry.log;
    logger[kafkajsLogLevel(entry)](message, { component: `kafkajs.${entry.namespace}`, ...rest });
  };
}

/**
 * The kafkajs client for vigil's brokers. `retry` overrides the retries of a short-lived client that must
 * give up within a deadline (`vigil breakers`' audit publisher): kafkajs keeps the process alive for as
 * long as it retries.
 */
export function createKafka(config: Config, logger: Logger, clientIdSuffix = '', retry: RetryOptions = { initialRetryTime: 200, retries: 8 }): Kafka {
  quietKnownKafkajsWarnings();
  return new Kafka({
    clientId: config.kafka.clientId + clientIdSuffix,
    brokers: [...config.kafka.brokers],
    logLevel: KafkaLogLevel.WARN,
    logCreator: logCreator(logger),
    connectionTimeout: 3000,
    retry,
    ...kafkaSecurity(config),
  });
}

/**
 * TLS and SASL options from config.kafka: the CA, client certificate and key read from their files
 * (verification of the broker's certificate always on), and the SASL mechanism with its credentials.
 */
export function kafkaSecurity(config: Config): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { ssl, tls, sasl } = config.kafka;
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (ssl) {
    const opts: ConnectionOptions = { rejectUnauthorized: true };
    if (tls.caFile) opts.ca = [readFileSync(tls.caFile, 'utf8')];
    if (tls.certFile && tls.keyFile) {
      opts.cert = readFileSync(tls.certFile, 'utf8');
      opts.key = readFileSync(tls.keyFile, 'utf8');
    }
    out.ssl = opts;
  }
  if (sasl) out.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as KafkaConfig['sasl'];
  return out;
}

/** The brokers could not be used at start (refused credentials, a TLS mismatch, unreachable): what to check. */
export class KafkaStartError extends VigilError {
  constructor(message: string, cause: unknown) {
    super(message, { retriable: false, cause });
  }
}

/**
 * Explains a failure of the first contact with the brokers in terms of vigil's settings (never with a
 * secret): the SASL credentials refused, or a connection that dies in its first request (a TLS
 * listener spoken to in plaintext, or the other way round).
 */
export function explainKafkaStartError(e: unknown, config: Config): KafkaStartError | undefined {
  const err = e as { name?: string; message?: string; cause?: unknown };
  const brokers = config.kafka.brokers.join(',');
  const { sasl, ssl } = config.kafka;
  const text = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
  const chain = [e, err?.cause, (err?.cause as { cause?: unknown } | undefined)?.cause].map((x) => `${(x as Error | undefined)?.name ?? ''} ${(x as Error | undefined)?.message ?? ''}`).join(' ');
  if (/SASLAuthentication|SASL .*authentication failed|invalid credentials/i.test(chain)) {
    return new KafkaStartError(`Kafka at ${brokers} refused the credentials of user "${sasl?.username ?? '(none)'}" (SASL ${sasl?.mechanism ?? 'none'}); check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD(_FILE). ${text}`, e);
  }
  if (/unsupported SASL mechanism|UNSUPPORTED_SASL_MECHANISM|ILLEGAL_SASL_STATE/i.test(chain)) {
    return new KafkaStartError(`Kafka at ${brokers} does not accept SASL ${sasl?.mechanism ?? 'none'}; check KAFKA_SASL_MECHANISM. ${text}`, e);
  }
  if (/certificate|self[- ]signed|wrong version number|SSL|TLS|EPROTO/i.test(chain)) {
    return new KafkaStartError(`TLS with Kafka at ${brokers} failed (KAFKA_SSL=${ssl}${config.kafka.tls.caFile ? `, CA ${config.kafka.tls.caFile}` : ''}): is the listener TLS, and is its certificate signed by the CA given (KAFKA_TLS_CA_FILE)? ${text}`, e);
  }
  if (!/Connection|Closed connection|ECONN|ETIMEDOUT|timed out|NumberOfRetriesExceeded|BrokerNotFound|NoBrokerAvailable/i.test(chain)) return undefined;
  const hint = ssl
    ? 'vigil speaks TLS (KAFKA_SSL): is the listener a TLS one, and is the broker up?'
    : `vigil speaks plaintext${sasl ? ` with SASL ${sasl.mechanism}` : ' without SASL'}: is the broker up? If the listener is SSL or SASL_SSL, set KAFKA_SSL=true${sasl ? '' : ' (and KAFKA_SASL_MECHANISM for SASL)'}`;
  return new KafkaStartError(`cannot use Kafka at ${brokers}: ${text}. ${hint}`, e);
}

/**
 * An admin client connected for the first contact with the brokers, giving up after a few tries
 * (a refused login or a TLS mismatch does not heal by waiting): a failure is a KafkaStartError saying
 * what to check. Disconnect it when done.
 */
export async function connectAdmin(kafka: Kafka, config: Config): Promise<Admin> {
  const admin = kafka.admin({ retry: { initialRetryTime: 200, retries: 3 } });
  try {
    await admin.connect();
    await admin.describeCluster(); // a request: a plaintext client on a TLS listener fails here, not at connect
    return admin;
  } catch (e) {
    await admin.disconnect().catch(() => {});
    throw explainKafkaStartError(e, config) ?? e;
  }
}

/**
 * vigil's producer settings: the murmur2 partitioner that Java clients use (so an event keyed by userId
 * lands on the partition a Java or Go producer would pick), no auto-created topics.
 */
export const PRODUCER_OPTIONS: ProducerConfig = Object.freeze({
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
});
