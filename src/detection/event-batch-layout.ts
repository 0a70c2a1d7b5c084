import { type ValidEvent, COMPENSATION_KINDS, EVENT_TYPES, OUTCOME_STATUSES, RISK_TIERS } from '../../processors/core/events.ts';

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

// The layout shared by the writer (event-batch-writer.ts) and the reader (event-batch-reader.ts).

/** Slots per dictionary field (a power of two). */
export const SLOTS = 1024;

// String fields with a dictionary, each its own region of the table.
export const USER = 0;
export const AGENT = 1;
export const AGENT_VERSION = 2;
export const INTENT = 3;
export const SESSION = 4;
export const REQUEST = 5;
export const TRACE = 6;
export const TENANT = 7;
export const PLAN = 8;
export const IDEMPOTENCY_KEY = 9;
export const PAYLOAD_HASH = 10;
export const DECISION = 11;
export const SCOPES = 12; // the JSON text of the array
export const REQUIRED_SCOPE = 13;
export const ACTION_NAME = 14;
export const VENDOR = 15;
export const CURRENCY = 16;
export const ERROR_CODE = 17;
export const FOR_EVENT = 18;
export const REASON = 19;
export const DICT_FIELDS = 20;

// Record layout: one number per position.
export const R_EVENT_ID = 0; // string code (no dictionary: always new)
export const R_TYPE = 1;
export const R_OCCURRED_AT = 2; // string code (no dictionary)
export const R_TS = 3;
export const R_USER = 4;
export const R_AGENT = 5;
export const R_AGENT_VERSION = 6;
export const R_INTENT = 7;
export const R_SESSION = 8;
export const R_REQUEST = 9;
export const R_TRACE = 10;
export const R_TENANT = 11;
export const R_PLAN = 12;
export const R_CONFIDENCE = 13;
export const R_IDEMPOTENCY_KEY = 14;
export const R_PAYLOAD_HASH = 15;
export const R_ATTEMPT = 16;
export const R_DECISION = 17;
export const R_SCOPES = 18;
export const R_REQUIRED_SCOPE = 19;
export const R_ACTION = 20; // 1 when present, else 0 and the action fields are not read
export const R_ACTION_NAME = 21;
export const R_VENDOR = 22;
export const R_RISK = 23;
export const R_STATE_CHANGING = 24;
export const R_AMOUNT = 25;
export const R_CURRENCY = 26;
export const R_OUTCOME = 27;
export const R_STATUS = 28;
export const R_HTTP_STATUS = 29;
export const R_ERROR_CODE = 30;
export const R_LATENCY = 31;
export const R_VENDOR_REF = 32;
export const R_COMPENSATION = 33;
export const R_FOR_EVENT = 34;
export const R_KIND = 35;
export const R_REASON = 36;
export const R_LINE = 37; // where the event came from (the replay reports refused events by line)
/** Numbers per event. */
export const RECORD_SIZE = 38;

// A string code: -1 absent; a slot (≥ 0): the value in that slot; −2: the next new string, not kept;
// ≤ −3: the next new string, kept in slot (−code − 3).
export const ABSENT = -1;
export const NEW_UNKEPT = -2;

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

export function indexer(values: readonly string[]): Map<string, number> {
  return new Map(values.map((v, i) => [v, i]));
}
export const typeIndex = indexer(EVENT_TYPES);
export const riskIndex = indexer(RISK_TIERS);
export const statusIndex = indexer(OUTCOME_STATUSES);
export const kindIndex = indexer(COMPENSATION_KINDS);

/**
 * A cheap hash of a string: its length, last 4 characters (ids end in their most varied ones) and
 * middle one. Equal strings hash alike, so it only ever spares a comparison of strings that differ.
 */
export function hashOf(v: string): number {
  const n = v.length;
  if (n < 4) return n === 0 ? 0 : Math.imul(n * 31 + v.charCodeAt(0) * 1031 + v.charCodeAt(n - 1), 0x9e3779b1);
  const h = (v.charCodeAt(n - 1) | (v.charCodeAt(n - 2) << 8) | (v.charCodeAt(n - 3) << 16) | (v.charCodeAt(n - 4) << 24)) ^ Math.imul(n * 131 + v.charCodeAt(n >> 1), 0x01000193);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ (h >>> 13);
}

