import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { runScript } from '../redis/scripts.ts';
import type { Logger } from '../observability/logger.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';
import { scopeIdProblem, type BreakerScope } from './state.ts';
import { withTimeout } from '../errors/timeout.ts';

/**
 * The relay of the operator overrides' audit outbox. Every override script appends its transitions to
 * its breaker's audit stream (`<prefix>:brk:{<scope>:<id>}:audit`) in the same step as the change, and
 * its caller (the HTTP API, `vigil breakers`) publishes them to `safety.breaker-transitions` and deletes
 * them. What is left (the caller crashed between the write and the publish, or Kafka was down) is
 * published here by one running monitor (a lease), oldest first, then deleted.
 *
 * A record younger than `graceMs` is left to its caller, who is publishing it right now. A record is
 * deleted only after Kafka took it: a crash in between publishes it again, so consumers dedupe on
 * `transitionId` (the record id, deterministic), as they do for every transition.
 */
export interface AuditRelayOptions {
  redis: RedisClient;
  keys: KeyBuilder;
  publish: (t: BreakerTransition) => Promise<void>;
  logger: Logger;
  /** How often to look (default 2000 ms). */
  intervalMs?: number;
  /** Records younger than this (by their stream id, Redis time) are left to their writer (default 15 s). */
  graceMs?: number;
  /** The relay lease (default 15 s). */
  leaseMs?: number;
}

export interface AuditRelayStats {
  relayed: number;
  pruned: number;
  errors: number;
}

/** Records read per breaker per pass. */
const BATCH = 100;
/** Breakers looked at per pass. */
const BREAKERS_PER_PASS = 1000;

export class AuditRelay {
  readonly stats: AuditRelayStats = { relayed: 0, pruned: 0, errors: 0 };
  readonly token = `audit-relay-${process.pid}-${randomBytes(6).toString('hex')}`;
  private readonly o: Required<Omit<AuditRelayOptions, 'logger'>> & { logger: Logger };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private holding = false;

  constructor(o: AuditRelayOptions) {
    this.o = { intervalMs: 2000, graceMs: 15_000, leaseMs: 15_000, ...o, logger: o.logger.child({ component: 'audit-relay' }) };
  }

  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.relayOnce().then(() => undefined, (e) => {
        this.stats.errors++;
        this.o.logger.warn('audit outbox relay pass failed; retrying', { error: e });
      }).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A pass stuck on a Redis that is down must not hold the monitor's stop: its records stay in the outbox.
    await withTimeout(this.running ?? Promise.resolve(), 2000, 'the relay pass').catch(() => {});
    if (this.holding) await withTimeout(runScript(this.o.redis, 'releaseLease', [this.o.keys.breakerAuditRelayLease()], [this.token]), 2000, 'releasing the relay lease').catch(() => {});
  }

  /**
   * One pass: under the lease, for every breaker in the audit-pending set, publishes its records older
   * than graceMs (then deletes each), and drops the breaker from the set once its outbox is empty and its
   * last write deadline has passed. Returns how many records it published.
   */
  async relayOnce(): Promise<number> {
    const { redis, keys } = this.o;
    const lease = await runScript<number>(redis, 'acquireLease', [keys.breakerAuditRelayLease()], [this.token, this.o.leaseMs]);
    this.holding = lease > 0;
    if (!this.holding) return 0;
    const [s, us] = await (redis as Redis).time();
    const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    const pending = await redis.zrange(keys.breakerAuditPending(), '0', String(BREAKERS_PER_PASS - 1), 'WITHSCORES');
    let relayed = 0;
    for (let i = 0; i < pending.length && !this.stopped; i += 2) {
      const member = pending[i]!;
      const score = Number(pending[i + 1]);
      const at = member.indexOf(':');
      const scope = member.slice(0, at) as BreakerScope;
      const id = member.slice(at + 1);
      if (at <= 0 || scopeIdProblem(scope, id)) {
        await redis.zrem(keys.breakerAuditPending(), member);
        continue;
      }
      const stream = keys.breakerAudit(scope, id);
      const entries = await redis.xrange(stream, '-', '+', 'COUNT', BATCH);
      let waiting = false;
      for (const [entryId, fields] of entries) {
        if (now - Number(entryId.split('-')[0]) < this.o.graceMs) {
          waiting = true; // its writer is still at it; later entries are younger still
          break;
        }
        const json = fields[fields.indexOf('transition') + 1];
        let t: BreakerTransition | undefined;
        try {
          t = JSON.parse(json ?? '') as BreakerTransition;
        } catch {
          this.o.logger.error('audit outbox entry is not a transition; deleted', { breaker: member, entryId });
        }
        if (t) {
          await this.o.publish(t);
          this.o.logger.info('override audit record relayed from the Redis outbox', { transitionId: t.transitionId, cause: t.cause, actor: t.actor });
          relayed++;
          this.stats.relayed++;
        }
        await redis.xdel(stream, entryId);
      }
      if (!waiting && entries.length < BATCH && score < now && (await redis.xlen(stream)) === 0) {
        this.stats.pruned += await runScript<number>(redis, 'pruneAuditPending', [keys.breakerAuditPending()], [member, pending[i + 1]!]);
      }
    }
    return relayed;
  }
}
