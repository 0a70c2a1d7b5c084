import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';

/** Headers vigil adds to a dead-lettered message (the original headers are kept beside them). */
export const DLQ_HEADERS = {
  reason: 'vigil-dlq-reason',
  detail: 'vigil-dlq-detail',
  sourceTopic: 'vigil-dlq-source-topic',
  sourcePartition: 'vigil-dlq-source-partition',
  sourceOffset: 'vigil-dlq-source-offset',
  at: 'vigil-dlq-at',
} as const;

export interface DeadLetter {
  message: KafkaMessage;
  reason: string;
  detail: string;
}

/**
 * Sends bad events to the dead-letter topic with the original key, value and headers, plus why and
 * where they came from. One produce request per batch; resolves when the broker acknowledged (acks=all).
 */
export async function sendToDeadLetter(producer: Producer, dlqTopic: string, source: { topic: string; partition: number }, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const at = new Date().toISOString();
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: letters.map(({ message, reason, detail }) => ({
      key: message.key,
      value: message.value,
      // Kafka header values are bytes; keep the detail bounded so one huge reason cannot exceed the broker's limit.
      headers: {
        ...(message.headers as IHeaders | undefined),
        [DLQ_HEADERS.reason]: reason,
        [DLQ_HEADERS.detail]: detail.slice(0, 1000),
        [DLQ_HEADERS.sourceTopic]: source.topic,
        [DLQ_HEADERS.sourcePartition]: String(source.partition),
        [DLQ_HEADERS.sourceOffset]: message.offset,
        [DLQ_HEADERS.at]: at,
      },
    })),
  });
}
