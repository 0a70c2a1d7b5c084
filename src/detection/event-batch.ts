import {
  COMPENSATION_KINDS,
  EVENT_TYPES,
  OUTCOME_STATUSES,
  RISK_TIERS,
  type ActionInfo,
  type CompensationInfo,
  type Outcome,
  type ValidEvent,
} from '../../processors/core/events.ts';

/**
 * Validated events in a compact form that one thread writes and another reads back (`vigil replay
 * --workers 2`: one thread reads, parses and validates, the other dedupes and runs the detectors).
 *
 * A batch is a Float64Array of fixed-size records (numbers as they are, NaN for an absent one;
 * enumerations as their index) and the new strings of the batch, in order. Strings are coded through a
 * dictionary that both sides keep in step: per field, a direct-mapped table of recently seen values
 * (a slot per cheap hash of the value). A value found in its slot costs the writer one comparison and
 * the reader one array read, and the reader hands out the same string object each time; a value not
 * found is sent and stored in its slot on both sides. Bounded memory by construction, no hash set.
 *
 * The reader builds every event with all the fields of ValidEvent (absent ones undefined) in one fixed
 * shape; unknown extra fields, which detectors never read, are not carried.
 */

/** Slots per dictionary field (a power of two). */
const SLOTS = 1024;

// String fields with a dictionary, each its own region of the table.
const USER = 0;
const AGENT = 1;
const AGENT_VERSION = 2;
const INTENT = 3;
const SESSION = 4;
const REQUEST = 5;
const TRACE = 6;
const TENANT = 7;
const PLAN = 8;
const IDEMPOTENCY_KEY = 9;
const PAYLOAD_HASH = 10;
const DECISION = 11;
const SCOPES = 12; // the JSON text of the array
const REQUIRED_SCOPE = 13;
const ACTION_NAME = 14;
const VENDOR = 15;
const CURRENCY = 16;
const ERROR_CODE = 17;
const FOR_EVENT = 18;
const REASON = 19;
const DICT_FIELDS = 20;

// Record layout: one number per position.
const R_EVENT_ID = 0; // string code (no dictionary: always new)
const R_TYPE = 1;
const R_OCCURRED_AT = 2; // string code (no dictionary)
const R_TS = 3;
const R_USER = 4;
const R_AGENT = 5;
const R_AGENT_VERSION = 6;
const R_INTENT = 7;
const R_SESSION = 8;
const R_REQUEST = 9;
const R_TRACE = 10;
const R_TENANT = 11;
const R_PLAN = 12;
const R_CONFIDENCE = 13;
const R_IDEMPOTENCY_KEY = 14;
const R_PAYLOAD_HASH = 15;
const R_ATTEMPT = 16;
const R_DECISION = 17;
const R_SCOPES = 18;
const R_REQUIRED_SCOPE = 19;
const R_ACTION = 20; // 1 when present, else 0 and the action fields are not read
const R_ACTION_NAME = 21;
const R_VENDOR = 22;
const R_RISK = 23;
const R_STATE_CHANGING = 24;
const R_AMOUNT = 25;
const R_CURRENCY = 26;
const R_OUTCOME = 27;
const R_STATUS = 28;
const R_HTTP_STATUS = 29;
const R_ERROR_CODE = 30;
const R_LATENCY = 31;
const R_VENDOR_REF = 32;
const R_COMPENSATION = 33;
const R_FOR_EVENT = 34;
const R_KIND = 35;
const R_REASON = 36;
const R_LINE = 37; // where the event came from (the replay reports refused events by line)
/** Numbers per event. */
export const RECORD_SIZE = 38;

// A string code: -1 absent; a slot (≥ 0): the value in that slot; −2: the next new string, not kept;
// ≤ −3: the next new string, kept in slot (−code − 3).
const ABSENT = -1;
const NEW_UNKEPT = -2;

/** A batch as it crosses threads (the Float64Array's buffer can be transferred). */
export interface EventBatch {
  /** `count` records of RECORD_SIZE numbers. */
  nums: Float64Array;
  count: number;
  /** The new strings, in the order the records use them. */
  strs: string[];
  /** Bad lines among the batch's (line number, why), in order: the reader reports them in line order with the events. */
  bad: [number, string][];
}

function indexer(values: readonly string[]): Map<string, number> {
  return new Map(values.map((v, i) => [v, i]));
}
const typeIndex = indexer(EVENT_TYPES);
const riskIndex = indexer(RISK_TIERS);
const statusIndex = indexer(OUTCOME_STATUSES);
const kindIndex = indexer(COMPENSATION_KINDS);

/**
 * A cheap hash of a string: its length, last 4 characters (ids end in their most varied ones) and
 * middle one. Equal strings hash alike, so it only ever spares a comparison of strings that differ.
 */
function hashOf(v: string): number {
  const n = v.length;
  if (n < 4) return n === 0 ? 0 : Math.imul(n * 31 + v.charCodeAt(0) * 1031 + v.charCodeAt(n - 1), 0x9e3779b1);
  const h = (v.charCodeAt(n - 1) | (v.charCodeAt(n - 2) << 8) | (v.charCodeAt(n - 3) << 16) | (v.charCodeAt(n - 4) << 24)) ^ Math.imul(n * 131 + v.charCodeAt(n >> 1), 0x01000193);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ (h >>> 13);
}

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
