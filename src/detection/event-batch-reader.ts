import { type ActionInfo, type CompensationInfo, type Outcome, type ValidEvent, COMPENSATION_KINDS, EVENT_TYPES, OUTCOME_STATUSES, RISK_TIERS } from '../../processors/core/events.ts';
import { SLOTS, SCOPES, DICT_FIELDS, R_EVENT_ID, R_TYPE, R_OCCURRED_AT, R_TS, R_USER, R_AGENT, R_AGENT_VERSION, R_INTENT, R_SESSION, R_REQUEST, R_TRACE, R_TENANT, R_PLAN, R_CONFIDENCE, R_IDEMPOTENCY_KEY, R_PAYLOAD_HASH, R_ATTEMPT, R_DECISION, R_SCOPES, R_REQUIRED_SCOPE, R_ACTION, R_ACTION_NAME, R_VENDOR, R_RISK, R_STATE_CHANGING, R_AMOUNT, R_CURRENCY, R_OUTCOME, R_STATUS, R_HTTP_STATUS, R_ERROR_CODE, R_LATENCY, R_VENDOR_REF, R_COMPENSATION, R_FOR_EVENT, R_KIND, R_REASON, R_LINE, RECORD_SIZE, ABSENT, NEW_UNKEPT, type EventBatch } from './event-batch-layout.ts';

/** One event as the reader builds it: every field of ValidEvent, in one shape. */
interface ReadEvent {
  eventId: string;
  type: ValidEvent['type'];
  occurredAt: string;
  userId: string;
  agentId: string;
  agentVersion: string;
  intentId: string | undefined;
  sessionId: string | undefined;
  requestId: string | undefined;
  traceId: string | undefined;
  tenantId: string | undefined;
  plan: string | undefined;
  confidenceScore: number | undefined;
  action: ActionInfo | undefined;
  idempotencyKey: string | undefined;
  payloadHash: string | undefined;
  attempt: number | undefined;
  decision: 'allow' | 'deny' | undefined;
  scopes: string[] | undefined;
  requiredScope: string | undefined;
  outcome: Outcome | undefined;
  compensation: CompensationInfo | undefined;
  ts: number;
}

/** Reads batches back into events, in order (the thread that runs the detectors). */
export class EventBatchReader {
  private readonly dict: (string | undefined)[] = new Array<string | undefined>(DICT_FIELDS * SLOTS).fill(undefined);
  /** The arrays that the scopes texts in the dictionary stand for (copied for each event). */
  private readonly scopes: (string[] | undefined)[] = new Array<string[] | undefined>(SLOTS).fill(undefined);
  private strs: string[] = [];
  private next = 0;

  /**
   * Calls `each` with every event of the batch and its line, in order, and `bad` with each bad line of
   * the batch where it falls among them (line order).
   */
  read(batch: EventBatch, each: (e: ValidEvent, line: number) => void, bad?: (line: number, reason: string) => void): void {
    const r = batch.nums;
    this.strs = batch.strs;
    this.next = 0;
    const bads = batch.bad ?? [];
    let b = 0;
    for (let i = 0; i < batch.count; i++) {
      const o = i * RECORD_SIZE;
      const line = r[o + R_LINE]!;
      while (b < bads.length && bads[b]![0] < line) bad?.(...bads[b++]!);
      each(this.event(r, o), line);
    }
    while (b < bads.length) bad?.(...bads[b++]!);
    if (this.next !== this.strs.length) throw new Error(`event batch out of step: ${this.strs.length - this.next} strings left`);
  }

  private event(r: Float64Array, o: number): ValidEvent {
    const e: ReadEvent = {
      eventId: this.str(r[o + R_EVENT_ID]!)!,
      type: EVENT_TYPES[r[o + R_TYPE]!]!,
      occurredAt: this.str(r[o + R_OCCURRED_AT]!)!,
      userId: this.str(r[o + R_USER]!)!,
      agentId: this.str(r[o + R_AGENT]!)!,
      agentVersion: this.str(r[o + R_AGENT_VERSION]!)!,
      intentId: this.str(r[o + R_INTENT]!),
      sessionId: this.str(r[o + R_SESSION]!),
      requestId: this.str(r[o + R_REQUEST]!),
      traceId: this.str(r[o + R_TRACE]!),
      tenantId: this.str(r[o + R_TENANT]!),
      plan: this.str(r[o + R_PLAN]!),
      confidenceScore: num(r[o + R_CONFIDENCE]!),
      action: undefined,
      idempotencyKey: this.str(r[o + R_IDEMPOTENCY_KEY]!),
      payloadHash: this.str(r[o + R_PAYLOAD_HASH]!),
      attempt: num(r[o + R_ATTEMPT]!),
      decision: this.str(r[o + R_DECISION]!) as 'allow' | 'deny' | undefined,
      scopes: this.scopesOf(r[o + R_SCOPES]!),
      requiredScope: this.str(r[o + R_REQUIRED_SCOPE]!),
      outcome: undefined,
      compensation: undefined,
      ts: r[o + R_TS]!,
    };
    if (r[o + R_ACTION] === 1) {
      e.action = {
        name: this.str(r[o + R_ACTION_NAME]!)!,
        vendor: this.str(r[o + R_VENDOR]!)!,
        riskTier: RISK_TIERS[r[o + R_RISK]!]!,
        stateChanging: r[o + R_STATE_CHANGING] === 1,
        amountMinor: num(r[o + R_AMOUNT]!),
        currency: this.str(r[o + R_CURRENCY]!),
      };
    }
    if (r[o + R_OUTCOME] === 1) {
      e.outcome = {
        status: OUTCOME_STATUSES[r[o + R_STATUS]!]!,
        httpStatus: num(r[o + R_HTTP_STATUS]!),
        errorCode: this.str(r[o + R_ERROR_CODE]!),
        latencyMs: num(r[o + R_LATENCY]!),
        vendorRef: this.str(r[o + R_VENDOR_REF]!),
      };
    }
    if (r[o + R_COMPENSATION] === 1) {
      e.compensation = {
        forEventId: this.str(r[o + R_FOR_EVENT]!)!,
        kind: COMPENSATION_KINDS[r[o + R_KIND]!]!,
        reason: this.str(r[o + R_REASON]!),
      };
    }
    return e as ValidEvent;
  }

  private str(code: number): string | undefined {
    if (code >= 0) return this.dict[code];
    if (code === ABSENT) return undefined;
    const v = this.strs[this.next++]!;
    if (code !== NEW_UNKEPT) this.dict[-code - 3] = v;
    return v;
  }

  private scopesOf(code: number): string[] | undefined {
    if (code === ABSENT) return undefined;
    if (code < 0) {
      // A new scopes text: parse it once for the slot.
      const text = this.str(code)!;
      const slot = -code - 3 - SCOPES * SLOTS;
      this.scopes[slot] = JSON.parse(text) as string[];
      return this.scopes[slot]!.slice();
    }
    return this.scopes[code - SCOPES * SLOTS]!.slice();
  }
}

function num(x: number): number | undefined {
  return x === x ? x : undefined;
}
