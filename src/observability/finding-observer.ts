import { ROOT_CONTEXT, SpanKind, trace, type Link, type SpanContext } from '@opentelemetry/api';
import type { KafkaMessage } from 'kafkajs';
import type { Finding } from '../../processors/core/finding.ts';
import type { DetectionMetrics } from './detection-metrics.ts';
import { currentBatch, type ObservedBatch } from './observed-handler.ts';
import { messageTraceContext, traceIdContext } from './trace-context.ts';
import type { Tracing } from './tracing.ts';

const MAX_LINKS = 16;
const MAX_LISTED_IDS = 32;

/** The batch's messages by eventId, built once per batch and only when a finding needs it. */
const indexes = new WeakMap<ObservedBatch, Map<string, number>>();
function indexOf(batch: ObservedBatch): Map<string, number> {
  let m = indexes.get(batch);
  if (m === undefined) {
    m = new Map();
    batch.events.forEach((e, i) => m!.set(e.eventId, i));
    indexes.set(batch, m);
  }
  return m;
}

/** The finding's evidence that is in this batch, as [event index, message], newest Kafka timestamp first. */
function evidenceIn(batch: ObservedBatch, f: Finding): { i: number; m: KafkaMessage }[] {
  const msgs = batch.messages;
  if (!msgs) return [];
  const idx = indexOf(batch);
  const out: { i: number; m: KafkaMessage }[] = [];
  for (const id of f.eventIds) {
    const i = idx.get(id);
    if (i !== undefined && msgs[i] !== undefined) out.push({ i, m: msgs[i]! });
  }
  return out.sort((a, b) => Number(b.m.timestamp) - Number(a.m.timestamp));
}

/**
 * What happens to observability when findings are published: the end-to-end detection latency (from
 * the event time that completed the evidence, and from the Kafka timestamp of the message that raised
 * the finding: its newest evidence message in the batch, or the batch's last message when the finding
 * was settled by the watermark the batch moved), and, when tracing is on, one span per finding placed in
 * the agent's trace: its parent is the evidence message's producer span (the W3C `traceparent` header),
 * or else a placeholder in the trace of the evidence's `traceId`; it links to vigil's batch span and to
 * the other evidence traces.
 */
export class FindingObserver {
  private readonly detection: DetectionMetrics;
  private readonly tracing: Tracing | undefined;

  constructor(opts: { detection: DetectionMetrics; tracing?: Tracing | undefined }) {
    this.detection = opts.detection;
    this.tracing = opts.tracing;
  }

  /** Call once the findings are durable (published). */
  published(findings: readonly Finding[], now = Date.now()): void {
    const batch = currentBatch();
    for (const f of findings) {
      const detectedAt = Date.parse(f.detectedAt);
      if (Number.isFinite(detectedAt)) this.detection.detectionLatency.observe({ from: 'event_time' }, Math.max(0, now - detectedAt) / 1000);
      const evidence = batch ? evidenceIn(batch, f) : [];
      const trigger = evidence[0]?.m ?? batch?.messages?.at(-1);
      const ts = trigger ? Number(trigger.timestamp) : NaN;
      if (Number.isFinite(ts)) this.detection.detectionLatency.observe({ from: 'kafka_timestamp' }, Math.max(0, now - ts) / 1000);
      if (this.tracing) this.span(f, batch, evidence, now);
    }
  }

  private span(f: Finding, batch: ObservedBatch | undefined, evidence: { i: number; m: KafkaMessage }[], now: number): void {
    const contexts: SpanContext[] = [];
    const seen = new Set<string>();
    const add = (sc: SpanContext | undefined) => {
      if (sc && !seen.has(sc.traceId + sc.spanId)) {
        seen.add(sc.traceId + sc.spanId);
        contexts.push(sc);
      }
    };
    for (const { m } of evidence) add(messageTraceContext(m.headers as Record<string, unknown> | undefined));
    for (const { i } of evidence) if (batch) add(traceIdContext(batch.events[i]!.traceId, batch.events[i]!.eventId));
    for (const t of f.traceIds ?? []) if (!contexts.some((c) => c.traceId === t.toLowerCase())) add(traceIdContext(t, `${f.findingId}\0${t}`));
    const [parent, ...others] = contexts;
    const links: Link[] = [];
    const batchContext = batch?.span?.spanContext();
    if (batchContext) links.push({ context: batchContext, attributes: { 'vigil.link': 'batch' } });
    for (const c of others) if (links.length < MAX_LINKS) links.push({ context: c, attributes: { 'vigil.link': 'evidence' } });
    const parentContext = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : batch?.span ? trace.setSpan(ROOT_CONTEXT, batch.span) : ROOT_CONTEXT;
    const span = this.tracing!.tracer.startSpan(
      `finding ${f.kind}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: now,
        links,
        attributes: {
          'vigil.finding.id': f.findingId,
          'vigil.finding.kind': f.kind,
          'vigil.finding.severity': f.severity,
          'vigil.finding.rule_id': f.ruleId,
          'vigil.finding.policy_version': f.policyVersion,
          'vigil.finding.shadow': f.shadow,
          'vigil.finding.scope.type': f.scope.type,
          'vigil.finding.scope.id': f.scope.id,
          'vigil.finding.detected_at': f.detectedAt,
          'vigil.finding.summary': f.summary,
          'vigil.finding.event_ids': f.eventIds.slice(0, MAX_LISTED_IDS),
          'vigil.finding.trace_ids': (f.traceIds ?? []).slice(0, MAX_LISTED_IDS),
          ...(batch ? { 'messaging.destination.name': batch.topic, 'messaging.destination.partition.id': String(batch.partition) } : {}),
        },
      },
      parentContext,
    );
    span.end(now);
  }
}
