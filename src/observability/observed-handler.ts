import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link, type Span } from '@opentelemetry/api';
import type { KafkaMessage } from 'kafkajs';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { BatchContext, BatchHandler } from '../ingest/batch-handler.ts';
import { countBatch } from './batch-counts.ts';
import type { DetectionMetrics } from './detection-metrics.ts';
import type { PipelineMetrics } from './pipeline-metrics.ts';
import { isRedisFailure } from './pipeline-metrics.ts';
import { messageTraceContext } from './trace-context.ts';
import type { Tracing } from './tracing.ts';

/** The batch being handled, as the finding observer sees it while the handler runs. */
export interface ObservedBatch {
  topic: string;
  partition: number;
  events: readonly ValidEvent[];
  /** The Kafka message of each event (same index), when ingest passed them. */
  messages: readonly KafkaMessage[] | undefined;
  /** The batch's span, when tracing is on. */
  span: Span | undefined;
}

const current = new AsyncLocalStorage<ObservedBatch>();

/** The batch whose handler is running in this async context, if any. */
export function currentBatch(): ObservedBatch | undefined {
  return current.getStore();
}

export interface ObserveOptions {
  detection: DetectionMetrics;
  pipeline: PipelineMetrics;
  /** Consumer group, for the batch span. */
  groupId: string;
  tracing?: Tracing | undefined;
}

/** Links from one batch span to its messages' producers: at most this many (the SDK's default limit). */
const MAX_LINKS = 128;

/**
 * Wraps the stage after ingest so that each batch is observed without the detectors knowing: the
 * safety-KPI counts of its events (one pass, batch-counts.ts) and its size, recorded once the batch
 * succeeded (a retried batch counts once); a Redis failure counted; and, when tracing is on, a span per
 * batch following the OpenTelemetry messaging conventions, linked to each message's producer span from
 * its W3C `traceparent` header. The batch is reachable through currentBatch() while the handler runs, so
 * findings published from inside it find their messages (finding-observer.ts).
 */
export function observeHandler(inner: BatchHandler, o: ObserveOptions): BatchHandler {
  const run = async (events: readonly ValidEvent[], ctx: BatchContext, span: Span | undefined) => {
    const batch: ObservedBatch = { topic: ctx.topic, partition: ctx.partition, events, messages: ctx.messages, span };
    try {
      await current.run(batch, () => inner.handle(events, ctx));
    } catch (e) {
      if (isRedisFailure(e)) o.pipeline.redisErrors.inc({ kind: 'command' });
      throw e;
    }
    o.pipeline.batchMessages.observe({ topic: ctx.topic }, ctx.consumed ?? events.length);
    if (events.length > 0) o.detection.record(countBatch(events));
  };
  const handler: BatchHandler = {
    async handle(events, ctx) {
      const tracer = o.tracing?.tracer;
      if (tracer === undefined) return run(events, ctx, undefined);
      const links: Link[] = [];
      const msgs = ctx.messages ?? [];
      for (let i = 0; i < msgs.length && links.length < MAX_LINKS; i++) {
        const sc = messageTraceContext(msgs[i]!.headers as Record<string, unknown> | undefined);
        if (sc) links.push({ context: sc, attributes: { 'messaging.kafka.offset': Number(msgs[i]!.offset) } });
      }
      const span = tracer.startSpan(
        `process ${ctx.topic}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'process',
            'messaging.operation.name': 'process',
            'messaging.destination.name': ctx.topic,
            'messaging.destination.partition.id': String(ctx.partition),
            'messaging.consumer.group.name': o.groupId,
            'messaging.batch.message_count': ctx.consumed ?? events.length,
            'vigil.batch.events': events.length,
            'vigil.kafka.last_offset': ctx.lastOffset,
          },
        },
        ROOT_CONTEXT,
      );
      try {
        await context.with(trace.setSpan(ROOT_CONTEXT, span), () => run(events, ctx, span));
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.message });
        throw e;
      } finally {
        span.end();
      }
    },
  };
  if (inner.close) handler.close = () => inner.close!();
  if (inner.assigned) handler.assigned = (topic, partitions) => inner.assigned!(topic, partitions);
  return handler;
}
