import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { runScript } from '../redis/scripts.ts';
import { VigilError } from '../errors/vigil-error.ts';
import type { CompensationPolicy } from './compensation-policy.ts';
import { commandBaseOf, type CompensationOutcome, type CompensationPlan, type SagaCommandBase } from './plan-compensation.ts';
import { ScriptStore } from '../redis/script-store.ts';

/** The states of a saga (issue 10): requested → succeeded | failed | timed_out. */
export type SagaState = 'requested' | 'succeeded' | 'failed' | 'timed_out';

/** A saga as stored (KeyBuilder.sagaState), read for e-mails, escalations and tests. */
export interface Saga {
  forEventId: string;
  findingId: string;
  /** Other findings about the same action (they started no second saga). */
  alsoFindingIds: string[];
  command: SagaCommandBase;
  state: SagaState;
  /** Attempts whose command is on the topic. */
  attempts: number;
  /** Redis time (ms) the saga started. */
  createdAt: number;
  /** Redis time (ms) the current attempt times out, 0 before the first send. */
  deadline: number;
  /** Time-outs so far. */
  timeouts: number;
  /** compensation.succeeded's occurredAt (ms), when it succeeded. */
  succeededAt: number | undefined;
  failedAt: number | undefined;
  /** The adapter acknowledged (compensation.requested's occurredAt, ms). */
  acknowledgedAt: number | undefined;
}

/** One step of the relay over the due sagas (advanceSagas-n.lua). */
export type SagaStep =
  | { forEventId: string; what: 'send'; seq: number; attempt: number; command: SagaCommandBase; findingId: string; createdAt: number }
  | { forEventId: string; what: 'resend'; attempt: number; dueAt: number }
  | { forEventId: string; what: 'timed_out'; attempt: number };

export interface OutcomeResult {
  result: 'unknown' | 'duplicate' | 'acknowledged' | 'succeeded' | 'failed' | 'ignored';
  previous: string;
  /** The finding's detectedAt (event time, ms): MTTC counts from it. */
  detectedAt: number;
  compensationKind: string;
  vendor: string;
}

/** The relay lost its lease (another instance took over): stop relaying. */
export class LeaseLostError extends VigilError {
  constructor() {
    super('the compensation relay lease is held by another instance', { retriable: true });
  }
}

/** How long a settled saga (and its outcome) stays readable: 7 days. */
export const SETTLED_SAGA_TTL_SECONDS = 7 * 86_400;

/**
 * The sagas in Redis: one hash per event to undo, a due set the relay walks, the in-flight set of the
 * Kafka transaction being written and the escalation queue, all under the hash tag {cmp}. Every change
 * is one Lua script (src/redis/lua/*Saga*.lua, settleInflight, recordOutcome).
 */
export class SagaStore extends ScriptStore {
  /** Starts the saga of a plan (not a shadow one); false when one already runs for its event. */
  async open(plan: CompensationPlan): Promise<boolean> {
    const k = this.keys;
    const r = await runScript<number>(this.redis, 'openSaga', [k.sagaState(plan.forEventId), k.sagaDue()], [
      this.now(), plan.forEventId, plan.findingId, JSON.stringify(commandBaseOf(plan)), plan.kind, String(Date.parse(plan.detectedAt) || 0), plan.vendor,
    ]);
    return r === 1;
  }

  /** Applies an outcome event to its saga (idempotent). */
  async recordOutcome(o: CompensationOutcome): Promise<OutcomeResult> {
    const k = this.keys;
    const r = await runScript<string[]>(this.redis, 'recordOutcome', [k.sagaState(o.forEventId), k.sagaDue()], [
      this.now(), o.outcome, o.eventId, String(o.ts), String(SETTLED_SAGA_TTL_SECONDS),
    ]);
    return { result: r[0] as OutcomeResult['result'], previous: r[1] ?? '', detectedAt: Number(r[2] || 0), compensationKind: r[3] ?? '', vendor: r[4] ?? '' };
  }

  /** forEventIds due now (Redis time), oldest first. */
  async due(limit: number): Promise<string[]> {
    const now = await this.redisNow();
    return this.redis.zrangebyscore(this.keys.sagaDue(), '-inf', now, 'LIMIT', 0, limit);
  }

  /** forEventIds claimed for the transaction in flight (or left by a relay that died). */
  inflight(): Promise<string[]> {
    return this.redis.zrange(this.keys.sagaInflight(), '0', '-1');
  }

  /**
   * Claims commands to send and times out overdue attempts (advanceSagas-n.lua).
   * @throws LeaseLostError when the caller no longer holds the lease.
   * @returns undefined when earlier claims are not settled yet (settle them first).
   */
  async advance(token: string, forEventIds: readonly string[], policy: CompensationPolicy, limit: number): Promise<SagaStep[] | undefined> {
    if (forEventIds.length === 0) return [];
    const k = this.keys;
    const r = await runScript<number | string[][]>(
      this.redis,
      'advanceSagas',
      [k.compensationRelayLease(), k.sagaDue(), k.sagaInflight(), k.sagaSeq(), k.sagaEscalations(), ...forEventIds.map((fe) => k.sagaState(fe))],
      [this.now(), token, policy.resend.maxAttempts, policy.resend.baseMs, policy.resend.capMs, limit, SETTLED_SAGA_TTL_SECONDS, ...forEventIds],
    );
    if (r === -1) throw new LeaseLostError();
    if (r === -2) return undefined;
    return (r as string[][]).map((e): SagaStep => {
      const [forEventId, what] = e as [string, string];
      if (what === 'send') return { forEventId, what, seq: Number(e[2]), attempt: Number(e[3]), command: JSON.parse(e[4]!) as SagaCommandBase, findingId: e[5]!, createdAt: Number(e[6] ?? 0) };
      if (what === 'resend') return { forEventId, what, attempt: Number(e[2]), dueAt: Number(e[3]) };
      return { forEventId, what: 'timed_out', attempt: Number(e[2]) };
    });
  }

  /**
   * Settles the claimed commands against the checkpoint read back from Kafka (settleInflight-n.lua).
   * @throws LeaseLostError when the caller no longer holds the lease.
   */
  async settle(token: string, forEventIds: readonly string[], checkpoint: number, timeoutMs: number): Promise<{ forEventId: string; what: 'sent' | 'released'; attempt: number }[]> {
    const k = this.keys;
    const r = await runScript<number | string[][]>(
      this.redis,
      'settleInflight',
      [k.compensationRelayLease(), k.sagaInflight(), k.sagaDue(), k.sagaSeq(), ...forEventIds.map((fe) => k.sagaState(fe))],
      [this.now(), token, checkpoint, timeoutMs, ...forEventIds],
    );
    if (r === -1) throw new LeaseLostError();
    return (r as string[][]).map((e) => ({ forEventId: e[0]!, what: e[1] as 'sent' | 'released', attempt: Number(e[2] || 0) }));
  }

  /** Escalated sagas not yet handled (notified and their vendor's breaker tripped). */
  escalations(limit: number): Promise<string[]> {
    return this.redis.zrange(this.keys.sagaEscalations(), '0', String(limit - 1));
  }

  /** Marks an escalation handled (both of its effects are idempotent, so a repeat is harmless). */
  async escalationHandled(forEventId: string): Promise<void> {
    await this.redis.zrem(this.keys.sagaEscalations(), forEventId);
  }

  /** One saga, or undefined. */
  async get(forEventId: string): Promise<Saga | undefined> {
    return sagaOf(await this.redis.hgetall(this.keys.sagaState(forEventId)));
  }

  /** Several sagas (one auto-pipelined round trip), in order; missing ones are undefined. */
  async getMany(forEventIds: readonly string[]): Promise<(Saga | undefined)[]> {
    const hashes = await Promise.all(forEventIds.map((fe) => this.redis.hgetall(this.keys.sagaState(fe))));
    return hashes.map(sagaOf);
  }

  /** Sagas requested and not yet settled (for the in-flight gauge): the due set plus the in-flight set. */
  async openCount(): Promise<number> {
    const [due, inflight] = await Promise.all([this.redis.zcard(this.keys.sagaDue()), this.redis.zcard(this.keys.sagaInflight())]);
    return due + inflight;
  }

}

function sagaOf(h: Record<string, string>): Saga | undefined {
  if (!h.fe || !h.cmd) return undefined;
  const opt = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  return {
    forEventId: h.fe,
    findingId: h.fid ?? '',
    alsoFindingIds: (h.also ?? '').split(',').filter(Boolean),
    command: JSON.parse(h.cmd) as SagaCommandBase,
    state: (h.st ?? 'requested') as SagaState,
    attempts: Number(h.att ?? 0),
    createdAt: Number(h.created ?? 0),
    deadline: Number(h.deadline ?? 0),
    timeouts: Number(h.timeouts ?? 0),
    succeededAt: opt(h.okAt),
    failedAt: opt(h.failAt),
    acknowledgedAt: opt(h.ackAt),
  };
}
