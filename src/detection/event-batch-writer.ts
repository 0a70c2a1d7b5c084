import { type ValidEvent } from '../../processors/core/events.ts';
import { SLOTS, USER, AGENT, AGENT_VERSION, INTENT, SESSION, REQUEST, TRACE, TENANT, PLAN, IDEMPOTENCY_KEY, PAYLOAD_HASH, DECISION, SCOPES, REQUIRED_SCOPE, ACTION_NAME, VENDOR, CURRENCY, ERROR_CODE, FOR_EVENT, REASON, DICT_FIELDS, R_EVENT_ID, R_TYPE, R_OCCURRED_AT, R_TS, R_USER, R_AGENT, R_AGENT_VERSION, R_INTENT, R_SESSION, R_REQUEST, R_TRACE, R_TENANT, R_PLAN, R_CONFIDENCE, R_IDEMPOTENCY_KEY, R_PAYLOAD_HASH, R_ATTEMPT, R_DECISION, R_SCOPES, R_REQUIRED_SCOPE, R_ACTION, R_ACTION_NAME, R_VENDOR, R_RISK, R_STATE_CHANGING, R_AMOUNT, R_CURRENCY, R_OUTCOME, R_STATUS, R_HTTP_STATUS, R_ERROR_CODE, R_LATENCY, R_VENDOR_REF, R_COMPENSATION, R_FOR_EVENT, R_KIND, R_REASON, R_LINE, RECORD_SIZE, ABSENT, NEW_UNKEPT, typeIndex, riskIndex, statusIndex, kindIndex, hashOf, type EventBatch } from './event-batch-layout.ts';

/** Writes validated events into batches (the reading, parsing and validating thread). */
export class EventBatchWriter {
  private readonly dict: (string | undefined)[] = new Array<string | undefined>(DICT_FIELDS * SLOTS).fill(undefined);
  /** The hash of each dictionary slot's string: a different string is told apart without reading it (a cache miss). */
  private readonly hashes = new Int32Array(DICT_FIELDS * SLOTS);
  private nums: Float64Array;
  private count = 0;
  private strs: string[] = [];
  private bad: [number, string][] = [];
  private readonly capacity: number;
  /** Buffers of batches read, given back (recycle). */
  private readonly spare: ArrayBuffer[] = [];

  constructor(capacity = 2048) {
    this.capacity = capacity;
    this.nums = new Float64Array(capacity * RECORD_SIZE);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** A bad line (not JSON, not a valid event) between the events added: read back in line order. */
  addBad(line: number, reason: string): void {
    this.bad.push([line, reason]);
  }

  /** Adds one event (as validateEvent returned it), with the line it came from. */
  add(e: ValidEvent, line = 0): void {
    if (this.count >= this.capacity) throw new Error('event batch is full');
    const r = this.nums;
    const o = this.count * RECORD_SIZE;
    r[o + R_EVENT_ID] = this.unkept(e.eventId);
    r[o + R_TYPE] = typeIndex.get(e.type)!;
    r[o + R_OCCURRED_AT] = this.unkept(e.occurredAt);
    r[o + R_TS] = e.ts;
    r[o + R_LINE] = line;
    r[o + R_USER] = this.str(USER, e.userId);
    r[o + R_AGENT] = this.str(AGENT, e.agentId);
    r[o + R_AGENT_VERSION] = this.str(AGENT_VERSION, e.agentVersion);
    r[o + R_INTENT] = this.str(INTENT, e.intentId);
    r[o + R_SESSION] = this.str(SESSION, e.sessionId);
    r[o + R_REQUEST] = this.str(REQUEST, e.requestId);
    r[o + R_TRACE] = this.str(TRACE, e.traceId);
    r[o + R_TENANT] = this.str(TENANT, e.tenantId);
    r[o + R_PLAN] = this.str(PLAN, e.plan);
    r[o + R_CONFIDENCE] = e.confidenceScore ?? NaN;
    r[o + R_IDEMPOTENCY_KEY] = this.str(IDEMPOTENCY_KEY, e.idempotencyKey);
    r[o + R_PAYLOAD_HASH] = this.str(PAYLOAD_HASH, e.payloadHash);
    r[o + R_ATTEMPT] = e.attempt ?? NaN;
    r[o + R_DECISION] = this.str(DECISION, e.decision);
    r[o + R_SCOPES] = e.scopes === undefined ? ABSENT : this.scopesCode(e.scopes);
    r[o + R_REQUIRED_SCOPE] = this.str(REQUIRED_SCOPE, e.requiredScope);
    const a = e.action;
    if (a === undefined) {
      r[o + R_ACTION] = 0;
    } else {
      r[o + R_ACTION] = 1;
      r[o + R_ACTION_NAME] = this.str(ACTION_NAME, a.name);
      r[o + R_VENDOR] = this.str(VENDOR, a.vendor);
      r[o + R_RISK] = riskIndex.get(a.riskTier)!;
      r[o + R_STATE_CHANGING] = a.stateChanging ? 1 : 0;
      r[o + R_AMOUNT] = a.amountMinor ?? NaN;
      r[o + R_CURRENCY] = this.str(CURRENCY, a.currency);
    }
    const out = e.outcome;
    if (out === undefined) {
      r[o + R_OUTCOME] = 0;
    } else {
      r[o + R_OUTCOME] = 1;
      r[o + R_STATUS] = statusIndex.get(out.status)!;
      r[o + R_HTTP_STATUS] = out.httpStatus ?? NaN;
      r[o + R_ERROR_CODE] = this.str(ERROR_CODE, out.errorCode);
      r[o + R_LATENCY] = out.latencyMs ?? NaN;
      r[o + R_VENDOR_REF] = out.vendorRef === undefined ? ABSENT : this.unkept(out.vendorRef); // one per success: no use keeping
    }
    const c = e.compensation;
    if (c === undefined) {
      r[o + R_COMPENSATION] = 0;
    } else {
      r[o + R_COMPENSATION] = 1;
      r[o + R_FOR_EVENT] = this.str(FOR_EVENT, c.forEventId);
      r[o + R_KIND] = kindIndex.get(c.kind)!;
      r[o + R_REASON] = this.str(REASON, c.reason);
    }
    this.count++;
  }

  /** The batch so far (its array is handed over: transfer it), and a fresh one started. */
  take(): EventBatch {
    const batch: EventBatch = { nums: this.nums, count: this.count, strs: this.strs, bad: this.bad };
    const spare = this.spare.pop();
    this.nums = spare !== undefined ? new Float64Array(spare) : new Float64Array(this.capacity * RECORD_SIZE);
    this.count = 0;
    this.strs = [];
    this.bad = [];
    return batch;
  }

  /**
   * Takes back the buffer of a batch that was read, to write another batch into (no new allocation).
   * What it holds is never read: a record's numbers are all written, or not read (absent parts).
   */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.capacity * RECORD_SIZE * 8 && this.spare.length < 16) this.spare.push(buffer);
  }

  /** Scopes arrays by slot (a hash of their first and last elements), compared element by element. */
  private readonly scopes: (string[] | undefined)[] = new Array<string[] | undefined>(SLOTS).fill(undefined);

  private scopesCode(scopes: string[]): number {
    const n = scopes.length;
    const slot = n === 0 ? 0 : (Math.imul(hashOf(scopes[0]!), 31) + hashOf(scopes[n - 1]!) + n) & (SLOTS - 1);
    const held = this.scopes[slot];
    if (held !== undefined && held.length === n) {
      let same = true;
      for (let i = 0; i < n && same; i++) same = held[i] === scopes[i];
      if (same) return SCOPES * SLOTS + slot;
    }
    // Not held: sent as its JSON text (the reader parses it once for the slot). Validation made every
    // element a string, and the array is not changed afterwards: it can be held as it is.
    this.scopes[slot] = scopes;
    this.strs.push(JSON.stringify(scopes));
    return -(SCOPES * SLOTS + slot) - 3;
  }

  private unkept(v: string): number {
    this.strs.push(v);
    return NEW_UNKEPT;
  }

  private str(field: number, v: string | undefined): number {
    if (v === undefined) return ABSENT;
    const h = hashOf(v);
    const slot = field * SLOTS + (h & (SLOTS - 1));
    if (this.hashes[slot] === h && this.dict[slot] === v) return slot;
    this.hashes[slot] = h;
    this.dict[slot] = v;
    this.strs.push(v);
    return -slot - 3;
  }
}

