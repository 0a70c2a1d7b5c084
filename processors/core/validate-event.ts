import {
  COMPENSATION_KINDS,
  EVENT_TYPES,
  OUTCOME_STATUSES,
  RISK_TIERS,
  type AgentEvent,
  type EventType,
  type ValidEvent,
} from './events.ts';

/** Why an event was refused: the field and what was wrong with it. */
export class InvalidEventError extends Error {
  readonly field: string;
  /** A bad event never becomes good by retrying: it goes to the dead-letter topic. */
  readonly retriable = false;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidEventError';
    this.field = field;
  }
}

const eventTypes: ReadonlySet<string> = new Set(EVENT_TYPES);
const riskTiers: ReadonlySet<string> = new Set(RISK_TIERS);
const outcomeStatuses: ReadonlySet<string> = new Set(OUTCOME_STATUSES);
const compensationKinds: ReadonlySet<string> = new Set(COMPENSATION_KINDS);

/** The day (`YYYY-MM-DD`) of the last occurredAt parsed and its midnight (UTC, epoch ms): events of one day share it. */
let lastDay = '';
let lastMidnight = NaN;

/**
 * occurredAt as epoch ms, or NaN unless it is RFC 3339 UTC with milliseconds, as the contract requires:
 * exactly `/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(s) ? Date.parse(s) : NaN`, without the
 * regular expression (it was a tenth of the replay's time), and with Date.parse
 * called once per day (its midnight) instead of once per event. A time of day outside
 * 00:00:00.000–23:59:59.999 (24:00, a leap second, 99:99) and a day that does not exist (2026-02-30,
 * which Date.parse would roll over into March) are refused: an accepted occurredAt always reads back as
 * itself (`new Date(ts).toISOString() === occurredAt`).
 */
function parseOccurredAt(s: string): number {
  if (s.length !== 24 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 ||
      s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90) {
    return NaN;
  }
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 7);
  const d = digits(s, 8, 10);
  const h = digits(s, 11, 13);
  const mi = digits(s, 14, 16);
  const sec = digits(s, 17, 19);
  const ms = digits(s, 20, 23);
  if ((y | mo | d | h | mi | sec | ms) < 0) return NaN; // a non-digit where the format wants one
  // 24:00, a leap second or 99:99 is no instant Date can hold exactly: refused, not rolled over.
  if (h > 23 || mi > 59 || sec > 59) return NaN;
  if (lastDay.length !== 10 || !s.startsWith(lastDay)) {
    lastDay = s.slice(0, 10);
    const midnight = Date.parse(`${lastDay}T00:00:00.000Z`);
    // Date.parse rolls 2026-02-30 over to March 2: a day that does not read back as itself does not exist.
    lastMidnight = Number.isFinite(midnight) && new Date(midnight).toISOString().startsWith(lastDay) ? midnight : NaN;
  }
  return lastMidnight + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/** The decimal number s[from, to) spells, or −1 when a character there is not an ASCII digit. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

const OUTCOME_TYPES: ReadonlySet<EventType> = new Set([
  'action.succeeded',
  'action.failed',
  'compensation.succeeded',
  'compensation.failed',
]);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Deletes the own properties holding null (JSON nulls of optional fields are absent fields). A plain
 * object (what JSON.parse makes) is walked with for…in, which allocates no array of keys as
 * Object.keys does (a tenth of the replay's allocations); any other object over Object.keys, so that
 * enumerable properties of its prototype (an avsc record's methods) are not walked.
 */
function dropNulls(o: Obj): void {
  if (Object.getPrototypeOf(o) === Object.prototype) {
    for (const k in o) if (o[k] === null) delete o[k];
  } else {
    for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
  }
}

function str(o: Obj, key: string, path: string, required: boolean): void {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new InvalidEventError(path, 'is required');
    return;
  }
  if (typeof v !== 'string') throw new InvalidEventError(path, `must be a string, got ${typeOf(v)}`);
  if (required && v.length === 0) throw new InvalidEventError(path, 'must not be empty');
  if (!v.isWellFormed()) throw notWellFormed(path, v);
}

/**
 * A string with a lone surrogate (only JSON's \ud800 escapes make one) has no UTF-8 form: Kafka keys,
 * Redis keys and Avro would all carry U+FFFD instead, and two different ids would become one.
 */
function notWellFormed(path: string, v: string): InvalidEventError {
  let i = 0;
  for (; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < v.length && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    else if (c >= 0xd800 && c <= 0xdfff) break;
  }
  return new InvalidEventError(path, `must be well-formed Unicode: a lone surrogate \\u${v.charCodeAt(i).toString(16)} at index ${i}`);
}

function num(o: Obj, key: string, path: string): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new InvalidEventError(path, `must be a number, got ${typeOf(v)}`);
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Checks a decoded value against the contract and returns it as a ValidEvent (the same object, with
 * `ts` added and JSON nulls of optional fields removed). Unknown extra fields are kept and ignored.
 * @throws InvalidEventError naming the first field that is wrong.
 */
export function validateEvent(value: unknown): ValidEvent {
  if (!isObj(value)) throw new InvalidEventError('(root)', `must be an object, got ${typeOf(value)}`);
  const e = value;
  dropNulls(e);

  str(e, 'eventId', 'eventId', true);
  str(e, 'type', 'type', true);
  const type = e.type as string;
  if (!eventTypes.has(type)) throw new InvalidEventError('type', `unknown event type "${type}"`);
  str(e, 'occurredAt', 'occurredAt', true);
  const occurredAt = e.occurredAt as string;
  const ts = parseOccurredAt(occurredAt);
  if (Number.isNaN(ts)) {
    throw new InvalidEventError('occurredAt', `must be RFC 3339 UTC with milliseconds, got "${occurredAt}"`);
  }
  str(e, 'userId', 'userId', true);
  str(e, 'agentId', 'agentId', true);
  str(e, 'agentVersion', 'agentVersion', true);

  const isConsent = type.startsWith('consent.');
  str(e, 'intentId', 'intentId', !isConsent);
  str(e, 'sessionId', 'sessionId', false);
  str(e, 'requestId', 'requestId', false);
  str(e, 'traceId', 'traceId', false);
  str(e, 'tenantId', 'tenantId', false);
  str(e, 'plan', 'plan', false);
  str(e, 'payloadHash', 'payloadHash', false);
  str(e, 'requiredScope', 'requiredScope', false);
  num(e, 'confidenceScore', 'confidenceScore');
  if (typeof e.confidenceScore === 'number' && (e.confidenceScore < 0 || e.confidenceScore > 1)) {
    throw new InvalidEventError('confidenceScore', `must be between 0 and 1, got ${e.confidenceScore}`);
  }

  if (e.action === undefined) {
    if (!isConsent) throw new InvalidEventError('action', 'is required');
  } else {
    validateAction(e.action);
  }

  if (type.startsWith('action.')) {
    str(e, 'idempotencyKey', 'idempotencyKey', false);
  } else if (e.idempotencyKey !== undefined) {
    str(e, 'idempotencyKey', 'idempotencyKey', false);
  }

  if (e.attempt !== undefined) {
    if (typeof e.attempt !== 'number' || !Number.isInteger(e.attempt) || e.attempt < 1) {
      throw new InvalidEventError('attempt', `must be an integer ≥ 1, got ${JSON.stringify(e.attempt)}`);
    }
  } else if (type === 'action.requested') {
    throw new InvalidEventError('attempt', 'is required for action.requested');
  }

  if (e.decision !== undefined && e.decision !== 'allow' && e.decision !== 'deny') {
    throw new InvalidEventError('decision', `must be "allow" or "deny", got ${JSON.stringify(e.decision)}`);
  }
  if (type === 'authz.checked' && e.decision === undefined) {
    throw new InvalidEventError('decision', 'is required for authz.checked');
  }
  if (e.scopes !== undefined) {
    if (!Array.isArray(e.scopes)) throw new InvalidEventError('scopes', `must be an array of strings, got ${typeOf(e.scopes)}`);
    for (let i = 0; i < e.scopes.length; i++) {
      if (typeof e.scopes[i] !== 'string') throw new InvalidEventError(`scopes[${i}]`, `must be a string, got ${typeOf(e.scopes[i])}`);
      if (!(e.scopes[i] as string).isWellFormed()) throw notWellFormed(`scopes[${i}]`, e.scopes[i] as string);
    }
  }

  if (e.outcome !== undefined) validateOutcome(e.outcome);
  else if (OUTCOME_TYPES.has(type as EventType)) throw new InvalidEventError('outcome', `is required for ${type}`);

  if (e.compensation !== undefined) validateCompensation(e.compensation);
  else if (type.startsWith('compensation.')) throw new InvalidEventError('compensation', `is required for ${type}`);

  const valid = e as unknown as AgentEvent & { ts: number };
  valid.ts = ts;
  return valid;
}

function validateAction(a: unknown): void {
  if (!isObj(a)) throw new InvalidEventError('action', `must be an object, got ${typeOf(a)}`);
  dropNulls(a);
  str(a, 'name', 'action.name', true);
  str(a, 'vendor', 'action.vendor', true);
  str(a, 'riskTier', 'action.riskTier', true);
  if (!riskTiers.has(a.riskTier as string)) {
    throw new InvalidEventError('action.riskTier', `must be low, medium or high, got "${a.riskTier as string}"`);
  }
  if (typeof a.stateChanging !== 'boolean') {
    throw new InvalidEventError('action.stateChanging', a.stateChanging === undefined ? 'is required' : `must be a boolean, got ${typeOf(a.stateChanging)}`);
  }
  num(a, 'amountMinor', 'action.amountMinor');
  str(a, 'currency', 'action.currency', false);
}

function validateOutcome(o: unknown): void {
  if (!isObj(o)) throw new InvalidEventError('outcome', `must be an object, got ${typeOf(o)}`);
  dropNulls(o);
  str(o, 'status', 'outcome.status', true);
  if (!outcomeStatuses.has(o.status as string)) {
    throw new InvalidEventError('outcome.status', `must be ok, error or timeout, got "${o.status as string}"`);
  }
  num(o, 'httpStatus', 'outcome.httpStatus');
  num(o, 'latencyMs', 'outcome.latencyMs');
  str(o, 'errorCode', 'outcome.errorCode', false);
  str(o, 'vendorRef', 'outcome.vendorRef', false);
}

function validateCompensation(c: unknown): void {
  if (!isObj(c)) throw new InvalidEventError('compensation', `must be an object, got ${typeOf(c)}`);
  dropNulls(c);
  str(c, 'forEventId', 'compensation.forEventId', true);
  str(c, 'kind', 'compensation.kind', true);
  if (!compensationKinds.has(c.kind as string)) {
    throw new InvalidEventError('compensation.kind', `must be cancel, refund, void_auth or release_hold, got "${c.kind as string}"`);
  }
  str(c, 'reason', 'compensation.reason', false);
}
