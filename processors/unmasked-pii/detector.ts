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

/**
 * An episode: leaks of one field and kind of data, each no more than quietMs (event time) after the
 * previous one. Episodes are a property of the set of leak times, not of the order they arrive in:
 * a leak that falls within quietMs of two episodes joins them into one.
 */
interface Episode {
  /** Event time of its first and last leak. */
  s: number;
  z: number;
  /** The earliest event of the episode, until reported. */
  c?: Ev & { type: string };
  /** Reported (the watermark passed its first leak). */
  done: boolean;
}

interface Leak {
  field: Field;
  pii: PiiKind;
  /** Episodes, sorted by start, disjoint and more than quietMs apart; the oldest reported ones go once no on-time leak can reach them. */
  e: Episode[];
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
    if (x === undefined) s.l.push((x = { field, pii, e: [] }));
    else if (x.e === undefined) upgrade(x);
    addLeak(x.e, { t: e.ts, id: e.eventId, tr: e.traceId, type: e.type }, s.quietMs);
    forgetReported(x.e, (ctx.watermark ?? e.ts - ctx.latenessMs) - s.quietMs);
    return s;
  },

  nextDue(s) {
    let due: number | undefined;
    for (const x of s.l) {
      if (x.e === undefined) upgrade(x);
      for (const p of x.e) if (!p.done && (due === undefined || p.s < due)) due = p.s;
    }
    return due;
  },

  onWatermark(s, watermark, ctx) {
    for (const x of s.l) {
      if (x.e === undefined) upgrade(x);
      for (const p of x.e) {
        if (p.done || p.s > watermark) continue;
        const ev = p.c!;
        p.done = true;
        p.c = undefined;
        emitDetection(
          ctx,
          { type: 'agent', id: s.agentId },
          [ev],
          `agent ${s.agentId} put ${describePii(x.pii)} in ${x.field} (first in event ${ev.id}, ${ev.type}); identifiers must be pseudonymous: mask it at the source and purge what was stored`,
          { observed: 1, threshold: 1 },
        );
      }
    }
    return s;
  },

  expiresAt(s) {
    return s.last + s.quietMs;
  },
});

/**
 * Files one leak in its episode: a new episode unless it falls within quietMs of one (before its first
 * leak or after its last); one that reaches two joins them (the later one was then no episode of its
 * own: it is reported only if neither was). The episode's evidence stays its earliest event.
 */
function addLeak(eps: Episode[], ev: Ev & { type: string }, quietMs: number): void {
  const t = ev.t;
  let i = 0;
  while (i < eps.length && eps[i]!.z + quietMs < t) i++;
  // eps[i..j) are the episodes within quietMs of t (at most two: episodes are more than quietMs apart).
  let j = i;
  while (j < eps.length && eps[j]!.s - quietMs <= t) j++;
  if (i === j) {
    eps.splice(i, 0, { s: t, z: t, c: ev, done: false });
    return;
  }
  const p = eps[i]!;
  for (let k = i + 1; k < j; k++) {
    const q = eps[k]!;
    p.done ||= q.done;
    if (q.c !== undefined && (p.c === undefined || isBefore(q.c, p.c))) p.c = q.c;
    if (q.z > p.z) p.z = q.z;
  }
  if (j > i + 1) eps.splice(i + 1, j - i - 1);
  if (t < p.s) p.s = t;
  if (t > p.z) p.z = t;
  if (p.done) p.c = undefined;
  else if (p.c === undefined || isBefore(ev, p.c)) p.c = ev;
}

/**
 * Drops reported episodes that ended before `before` (the watermark − quietMs: no on-time leak can
 * join them), keeping the latest episode always, so a late leak still extends it rather than
 * starting a new one.
 */
function forgetReported(eps: Episode[], before: number): void {
  let n = 0;
  while (n < eps.length - 1 && eps[n]!.done && eps[n]!.z < before) n++;
  if (n > 0) eps.splice(0, n);
}

/** A slice stored before episodes were kept per leak ({ c?, done, last }): its one episode. */
function upgrade(x: Leak): void {
  const old = x as unknown as { c?: Ev & { type: string }; done: boolean; last: number };
  x.e = [{ s: old.c?.t ?? old.last, z: old.last, ...(old.c !== undefined ? { c: old.c } : {}), done: old.done }];
  delete (x as { c?: unknown }).c;
  delete (x as { done?: unknown }).done;
  delete (x as { last?: unknown }).last;
}
