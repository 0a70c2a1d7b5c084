import type { Detector } from '../core/detector.ts';
import { settleOverdueFirst } from '../shared/settle-overdue.ts';
import type { ValidEvent } from '../core/events.ts';
import { emitDetection, isBefore, type Ev } from '../shared/evidence.ts';
import { describePii, piiKindOf, type PiiKind } from '../shared/pii.ts';

/**
 * unmasked_pii parameters.
 * - `quietMs`: after this long (event time) without personal data in a field, the same agent, field
 *   and kind of data make a new finding.
 */
export interface UnmaskedPiiParams {
  [k: string]: number;
  quietMs: number;
}

/** The identifier fields that must never hold personal data. */
export const IDENTIFIER_FIELDS = ['userId', 'sessionId', 'requestId', 'intentId', 'idempotencyKey'] as const;
type Field = (typeof IDENTIFIER_FIELDS)[number];

interface Leak {
  field: Field;
  pii: PiiKind;
  /** The earliest event of the episode, until reported. */
  c?: Ev & { type: string };
  done: boolean;
  last: number;
}

/** Slice `a:<agentId>`: one entry per (field, kind of data) the agent leaked. */
export interface UnmaskedPiiState {
  agentId: string;
  l: Leak[];
  last: number;
  quietMs: number;
}

/**
 * Identifier values already found clean, in a small direct-mapped cache: one slot per cheap hash of
 * the value (its length and last characters), so a check is one string comparison instead of a scan
 * (ids recur across the events of one intent, session or request) and never a lookup in a large hash
 * set (which, cold in cache, cost more than the scan it saved). A memo of a pure function: it changes
 * no outcome. Bounded by construction.
 */
const CLEAN_SLOTS = 4096;
const clean: (string | undefined)[] = new Array<string | undefined>(CLEAN_SLOTS).fill(undefined);

/** Whether `v` holds personal data, and of which kind (piiKindOf with the memo). */
function piiOf(v: string): PiiKind | undefined {
  const n = v.length;
  if (n < 6) return piiKindOf(v); // too short to hold any: answered at once
  const slot = (n * 7 + v.charCodeAt(n - 1) * 1031 + v.charCodeAt(n - 2) * 131 + v.charCodeAt(n - 3) * 17 + v.charCodeAt(n >> 1)) & (CLEAN_SLOTS - 1);
  if (clean[slot] === v) return undefined;
  const k = piiKindOf(v);
  if (k === undefined) clean[slot] = v;
  return k;
}

/** The first identifier field of `e` holding personal data, if any, with the kind of data. */
function leakOf(e: ValidEvent): [Field, PiiKind] | undefined {
  // The fields of IDENTIFIER_FIELDS, in its order, read by name.
  let k: PiiKind | undefined;
  if (e.userId !== undefined && (k = piiOf(e.userId)) !== undefined) return ['userId', k];
  if (e.sessionId !== undefined && (k = piiOf(e.sessionId)) !== undefined) return ['sessionId', k];
  if (e.requestId !== undefined && (k = piiOf(e.requestId)) !== undefined) return ['requestId', k];
  if (e.intentId !== undefined && (k = piiOf(e.intentId)) !== undefined) return ['intentId', k];
  if (e.idempotencyKey !== undefined && (k = piiOf(e.idempotencyKey)) !== undefined) return ['idempotencyKey', k];
  return undefined;
}

/**
 * unmasked_pii: an identifier field (userId, sessionId, requestId, intentId, idempotencyKey) holds an
 * e-mail address, a phone number or a Luhn-valid card number. Scope: agent. One finding per agent,
 * field and kind of data per episode (an episode ends after quietMs without it); the evidence is the
 * episode's first event. Summaries never repeat the personal data.
 */
export const unmaskedPii: Detector<UnmaskedPiiState, UnmaskedPiiParams> = settleOverdueFirst<UnmaskedPiiState, UnmaskedPiiParams>({
  kind: 'unmasked_pii',
  severity: 'critical',
  defaults: { quietMs: 3_600_000 },

  keyOf(e) {
    return leakOf(e) === undefined ? undefined : `a:${e.agentId}`;
  },

  init() {
    return { agentId: '', l: [], last: Number.MIN_SAFE_INTEGER, quietMs: 0 };
  },

  onEvent(s, e, ctx) {
    const leak = leakOf(e);
    if (leak === undefined) return s;
    const [field, pii] = leak;
    s.agentId = e.agentId;
    s.quietMs = ctx.params.quietMs;
    if (e.ts > s.last) s.last = e.ts;
    let x = s.l.find((y) => y.field === field && y.pii === pii);
    if (x !== undefined && x.done && e.ts > x.last + s.quietMs) {
      s.l.splice(s.l.indexOf(x), 1);
      x = undefined;
    }
    if (x === undefined) s.l.push((x = { field, pii, done: false, last: e.ts }));
    if (e.ts > x.last) x.last = e.ts;
    const ev = { t: e.ts, id: e.eventId, tr: e.traceId, type: e.type };
    if (!x.done && (x.c === undefined || isBefore(ev, x.c))) x.c = ev;
    return s;
  },

  nextDue(s) {
    let due: number | undefined;
    for (const x of s.l) if (!x.done && x.c !== undefined && (due === undefined || x.c.t < due)) due = x.c.t;
    return due;
  },

  onWatermark(s, watermark, ctx) {
    for (const x of s.l) {
      if (x.done || x.c === undefined || x.c.t > watermark) continue;
      const ev = x.c;
      x.done = true;
      x.c = undefined;
      emitDetection(
        ctx,
        { type: 'agent', id: s.agentId },
        [ev],
        `agent ${s.agentId} put ${describePii(x.pii)} in ${x.field} (first in event ${ev.id}, ${ev.type}); identifiers must be pseudonymous: mask it at the source and purge what was stored`,
        { observed: 1, threshold: 1 },
      );
    }
    return s;
  },

  expiresAt(s) {
    return s.last + s.quietMs;
  },
});
