import { createRequire } from 'node:module';
import { logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';

/**
 * The level vigil logs one of kafkajs's own log lines at.
 *
 * kafkajs logs every error response a broker sends at ERROR (`Response InitProducerId(…)` with
 * "The coordinator is loading and hence can't process requests for this group"), before its own retry
 * handles it. A broker that has just started, a leader election or a group coordinator moving gives a
 * few of those, and an on-call engineer reading ERROR lines for what kafkajs retries and gets past
 * learns to skip ERROR lines. Those responses (kafkajs's retriable protocol errors, by their message)
 * go to debug; if the retries run out, the call fails and vigil logs that failure itself. Every other
 * ERROR and WARN keeps its level; kafkajs's info and debug lines are debug.
 */
export function kafkajsLogLevel(entry: Pick<LogEntry, 'namespace' | 'level' | 'log'>): 'error' | 'warn' | 'debug' {
  if (entry.level === KafkaLogLevel.ERROR) return isRetriedResponse(entry) ? 'debug' : 'error';
  if (entry.level === KafkaLogLevel.WARN) return 'warn';
  return 'debug';
}

function isRetriedResponse({ namespace, log }: Pick<LogEntry, 'namespace' | 'log'>): boolean {
  const error = (log as { error?: unknown }).error;
  return namespace === 'Connection' && log.message.startsWith('Response ') && typeof error === 'string' && RETRIABLE_MESSAGES.has(error);
}

/** The messages of the protocol errors kafkajs marks retriable (its own table, so the two cannot drift). */
const RETRIABLE_MESSAGES: ReadonlySet<string> = new Set(
  (createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: { message: string; retriable: boolean }[] }).errorCodes
    .filter((e) => e.retriable)
    .map((e) => e.message),
);
