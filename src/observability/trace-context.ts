import { createHash } from 'node:crypto';
import { TraceFlags, type SpanContext } from '@opentelemetry/api';

/** The W3C trace context header that agent services put on their Kafka messages. */
export const TRACEPARENT_HEADER = 'traceparent';

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const TRACE_ID_RE = /^[0-9a-f]{32}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Parses a W3C `traceparent` header value (`00-<trace id>-<span id>-<flags>`) into a remote span context.
 * Returns undefined for anything malformed, version ff, or all-zero ids (as the W3C spec says to).
 */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  const raw: unknown = Array.isArray(value) ? value[0] : value;
  const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : typeof raw === 'string' ? raw : undefined;
  if (text === undefined) return undefined;
  const m = TRACEPARENT_RE.exec(text.trim().toLowerCase());
  if (!m || m[1] === 'ff' || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return undefined;
  if (m[1] === '00' && m[0].length !== 55) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, traceFlags: parseInt(m[4]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** The span context of a Kafka message's `traceparent` header, if it has a valid one. */
export function messageTraceContext(headers: Record<string, unknown> | undefined): SpanContext | undefined {
  if (!headers) return undefined;
  return parseTraceparent(headers[TRACEPARENT_HEADER]);
}

/**
 * A span context in the agent's trace for an event that carried only its `traceId` (no header): the
 * trace id is the agent's, the span id is derived from `seed` (e.g. the eventId), since the event does
 * not say which of the agent's spans wrote it. A span made its child lands in the agent's trace, under
 * a parent the trace viewer does not have. Undefined when traceId is not a W3C trace id.
 */
export function traceIdContext(traceId: string | undefined, seed: string): SpanContext | undefined {
  if (traceId === undefined) return undefined;
  const t = traceId.toLowerCase();
  if (!TRACE_ID_RE.test(t) || t === ZERO_TRACE) return undefined;
  let spanId = createHash('sha256').update(`vigil-placeholder\0${seed}`).digest('hex').slice(0, 16);
  if (spanId === ZERO_SPAN) spanId = '0000000000000001';
  return { traceId: t, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
}
