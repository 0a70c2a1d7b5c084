import type { Cluster, Redis } from 'ioredis';
import { isCluster, type RedisClient } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import { queueScript, runScript } from '../redis/scripts.ts';
import { withTimeout } from '../errors/timeout.ts';
import { BreakerError, isBreakerError, scriptError } from '@vigil/breaker-client/protocol';
import type { ForceArgs, OpResult, TripArgs } from './machine.ts';
import { breakerFromHash, scopeIdProblem } from './state.ts';
import type { Breaker, BreakerScope, BreakerStateName } from './state.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';


export interface BreakerStoreOptions {
  /** A client with vigil's scripts registered (src/redis/connection.ts connectRedis does that). */
  redis: RedisClient;
  keys: KeyBuilder;
  /** Called with every transition a script made, after Redis committed it (e.g. to produce it to Kafka). */
  publishTransition?: (t: BreakerTransition) => Promise<void> | void;
  /**
   * Test-only virtual clock: its value is passed to the scripts as their time. Leave it undefined in
   * production, where the scripts take time from Redis `TIME`.
   */
  clock?: () => number;
  /**
   * How long an operator write (force, reset) may take, in ms (config.http.adminWriteDeadlineMs; default
   * 5000). The script gets `now + this` as its deadline and refuses the write past it; the caller gives
   * up shortly after (ABANDON_GRACE_MS) with a `write_abandoned` error.
   */
  writeDeadlineMs?: number;
}

/** How long after the write deadline the caller still waits for Redis's answer before giving up. */
export const ABANDON_GRACE_MS = 250;

/** An override's result: the script's, and what became of its audit records (see BreakerStore.force). */
export interface OverrideResult extends OpResult {
  audit: {
    /** Records published to the audit topic by this call (and deleted from the outbox). */
    published: number;
    /** Records left in the outbox (no publisher, or publishing failed): a running monitor relays them. */
    pending: number;
    /** Why publishing failed, when it did. */
    error?: string;
  };
}


/**
 * The breakers in Redis, as the monitor, the HTTP API and the CLI change them: one Lua script per
 * transition (@vigil/breaker-client's lua/src/: *Breaker*.lua, takePermit, reportTrial), results as in machine.ts.
 */
export class BreakerStore {
  readonly redis: RedisClient;
  readonly keys: KeyBuilder;
  private readonly publish: BreakerStoreOptions['publishTransition'];
  private readonly clock: (() => number) | undefined;
  readonly writeDeadlineMs: number;

  constructor(opts: BreakerStoreOptions) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.publish = opts.publishTransition;
    this.clock = opts.clock;
    this.writeDeadlineMs = opts.writeDeadlineMs ?? 5000;
  }

  /** True when this store hands each transition to publishTransition itself. */
  get publishesTransitions(): boolean {
    return this.publish !== undefined;
  }

  /**
   * Runs a breaker script. `indexed`: the script may create the breaker's hash, so its index member is
   * added beside it: in the same MULTI on a single node (both or neither), before it on a cluster (the
   * index is in another slot). Either way a hash never exists without its member; a member without a
   * hash (the script refused, or the hash was deleted) is pruned by list().
   * `override`: an operator write with a deadline (absolute ms) and an audit outbox (KEYS[2]): its breaker
   * is added to the audit-pending set the same way as the index member, the deadline is the script's last
   * argument, and the call gives up ABANDON_GRACE_MS after it (the script refuses it if it runs later).
   */
  private async run(script: string, scope: BreakerScope, id: string, extraKeys: string[], args: (string | number)[], indexed = false, override?: { deadlineAt: number; waitMs: number }): Promise<OpResult & { outbox?: string[] }> {
    const problem = scopeIdProblem(scope, id);
    if (problem) throw new BreakerError('invalid_argument', problem, { scope: String(scope), id: String(id), script, retriable: false });
    const keys = [this.keys.breakerState(scope, id), ...extraKeys];
    const argv = [this.clock ? String(this.clock()) : '', this.keys.breakerTransitionsChannel(), scope, id, ...args.map(String)];
    const member = `${scope}:${id}`;
    let ret: unknown;
    const call = async (): Promise<unknown> => {
      if (!indexed && !override) return runScript(this.redis, script, keys, argv);
      if (isCluster(this.redis)) {
        if (indexed) await this.redis.sadd(this.keys.breakerIndex(), member);
        if (override) await this.redis.zadd(this.keys.breakerAuditPending(), 'GT', override.deadlineAt, member);
        return runScript(this.redis, script, keys, argv);
      }
      const tx = (this.redis as Redis).multi();
      if (indexed) tx.sadd(this.keys.breakerIndex(), member);
      if (override) tx.zadd(this.keys.breakerAuditPending(), 'GT', override.deadlineAt, member);
      const res = await queueScript(tx, script, keys, argv).exec();
      if (!res) throw new Error('MULTI was discarded');
      for (const [err] of res) if (err) throw err;
      return res.at(-1)![1];
    };
    try {
      ret = await (override
        ? withTimeout(call(), override.waitMs, () => new BreakerError('write_abandoned',
          `no answer from Redis within ${override.waitMs} ms`,
          { scope, id, script, retriable: true }))
        : call());
    } catch (e) {
      if (isBreakerError(e)) throw e;
      throw new BreakerError('redis_unreachable', `Redis failed: ${(e as Error).message}`, { scope, id, script, retriable: true, cause: e });
    }
    if (typeof ret === 'number') throw scriptError(ret, { scope, id, script });
    const result = JSON.parse(String(ret)) as OpResult & { outbox?: string[] };
    if (this.publish && !override) for (const t of result.transitions) await this.publish(t);
    return result;
  }

  /**
   * An override's audit records: each is published (publishTransition, bounded by the write deadline)
   * and then deleted from the breaker's outbox. One that cannot be published stays in the outbox, where a
   * running monitor's AuditRelay finds it: the override itself is applied either way.
   */
  private async deliverAudit(scope: BreakerScope, id: string, r: OpResult & { outbox?: string[] }): Promise<OverrideResult> {
    const { outbox = [], ...result } = r;
    const audit: OverrideResult['audit'] = { published: 0, pending: outbox.length };
    if (!this.publish || outbox.length === 0) return { ...result, audit };
    const publish = this.publish;
    const deliver = async () => {
      for (const [i, t] of result.transitions.entries()) {
        const entry = outbox[i];
        if (entry === undefined) continue;
        await publish(t);
        await this.redis.xdel(this.keys.breakerAudit(scope, id), entry);
        audit.published += 1;
        audit.pending -= 1;
      }
    };
    try {
      await withTimeout(deliver(), this.writeDeadlineMs, 'publishing the audit record to Kafka');
    } catch (e) {
      audit.error = (e as Error).message;
    }
    return { ...result, audit };
  }

  /** The deadline of an operator write starting now (the scripts' time: Redis TIME, or the test clock). */
  private override(): { deadlineAt: number; waitMs: number } {
    return { deadlineAt: (this.clock ?? Date.now)() + this.writeDeadlineMs, waitMs: this.writeDeadlineMs + ABANDON_GRACE_MS };
  }

  /** Applies a finding to a breaker (idempotent per findingId). */
  trip(scope: BreakerScope, id: string, a: TripArgs): Promise<OpResult> {
    const s = a.settings;
    return this.run('tripBreaker', scope, id, [this.keys.breakerFindings(scope, id)], [
      a.findingId, JSON.stringify(a.reason), s.baseMs, s.capMs, s.jitter, s.trials, s.trialTimeoutMs,
    ], true);
  }

  /** Checks one breaker, taking a half-open trial permit when it is (or becomes) half_open. */
  takePermit(scope: BreakerScope, id: string): Promise<OpResult> {
    return this.run('takePermit', scope, id, [], []);
  }

  /** Reports a half-open trial's outcome. */
  reportTrial(scope: BreakerScope, id: string, success: boolean): Promise<OpResult> {
    return this.run('reportTrial', scope, id, [], [success ? '1' : '0']);
  }

  /**
   * Operator override: forced_open or forced_closed for ttlMs (from when Redis applies it). Applied within
   * writeDeadlineMs or never: past it the caller gets a retriable `write_abandoned` (no answer) or
   * `deadline_passed` (the script refused) BreakerError, and the script refuses the write should it reach
   * Redis later. The transition is written to the breaker's audit outbox in the same step, then published.
   */
  async force(scope: BreakerScope, id: string, a: ForceArgs): Promise<OverrideResult> {
    const o = this.override();
    const r = await this.run(a.mode === 'forced_open' ? 'forceOpenBreaker' : 'forceCloseBreaker', scope, id, [this.keys.breakerAudit(scope, id)], [a.actor, a.note, a.ttlMs, o.deadlineAt], true, o);
    return this.deliverAudit(scope, id, r);
  }

  /** Operator reset to closed, with the same deadline and audit as force(); throws a not_found BreakerError for a breaker that does not exist. */
  async reset(scope: BreakerScope, id: string, actor: string, note: string): Promise<OverrideResult> {
    const o = this.override();
    const r = await this.run('resetBreaker', scope, id, [this.keys.breakerAudit(scope, id)], [actor, note, o.deadlineAt], false, o);
    return this.deliverAudit(scope, id, r);
  }

  /** One breaker as stored, or undefined when it has no hash (closed). */
  async get(scope: BreakerScope, id: string): Promise<Breaker | undefined> {
    const h = await this.redis.hgetall(this.keys.breakerState(scope, id));
    return Object.keys(h).length === 0 ? undefined : breakerFromHash(scope, id, h);
  }

  /**
   * Every stored breaker, optionally filtered, sorted by scope and id: the members of the breaker index
   * (SSCAN of one key, never a SCAN of the keyspace), each read with HGETALL. Members whose hash is gone
   * are removed from the index; hashes this code cannot read (another protocol version) are skipped.
   */
  async list(filter: { scope?: BreakerScope; state?: BreakerStateName } = {}): Promise<Breaker[]> {
    const index = this.keys.breakerIndex();
    const members = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.sscan(index, cursor, 'COUNT', 1000);
      for (const m of batch) members.add(m);
      cursor = next;
    } while (cursor !== '0');
    const refs = [...members].flatMap((m) => {
      const i = m.indexOf(':');
      const scope = m.slice(0, i) as BreakerScope;
      const id = m.slice(i + 1);
      return i > 0 && (!filter.scope || scope === filter.scope) && !scopeIdProblem(scope, id) ? [{ m, scope, id }] : [];
    });
    const out: Breaker[] = [];
    const gone: string[] = [];
    // Read in chunks sent together (auto-pipelined on one node, per master on a cluster).
    for (let i = 0; i < refs.length; i += 200) {
      const chunk = refs.slice(i, i + 200);
      const hashes = await Promise.all(chunk.map((r) => this.redis.hgetall(this.keys.breakerState(r.scope, r.id))));
      chunk.forEach((r, j) => {
        const h = hashes[j]!;
        if (Object.keys(h).length === 0) return void gone.push(r.m);
        let b: Breaker;
        try {
          b = breakerFromHash(r.scope, r.id, h);
        } catch {
          return; // another protocol version or an unknown state: not ours to show
        }
        if (!filter.state || b.status.kind === filter.state) out.push(b);
      });
    }
    if (gone.length) await this.redis.srem(index, ...gone);
    return out.sort((a, b) => (a.scope + ':' + a.id).localeCompare(b.scope + ':' + b.id));
  }

  /**
   * Rebuilds the index from a SCAN of every master (once, by an operator: `vigil breakers reindex`) for
   * breakers stored before the index existed or written by hand. Returns how many breakers it indexed.
   */
  async reindex(): Promise<number> {
    const nodes: Redis[] = isCluster(this.redis) ? (this.redis as Cluster).nodes('master') : [this.redis as Redis];
    const members: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', this.keys.breakerStatePattern(), 'COUNT', 1000);
        const fields = await Promise.all(batch.map((k) => node.hmget(k, 'scope', 'id')));
        for (const [scope, id] of fields) if (scope && id && !scopeIdProblem(scope, id)) members.push(`${scope}:${id}`);
        cursor = next;
      } while (cursor !== '0');
    }
    for (let i = 0; i < members.length; i += 1000) await this.redis.sadd(this.keys.breakerIndex(), ...members.slice(i, i + 1000));
    return members.length;
  }

  /** Redis time in epoch ms (what the scripts use), or the test clock. */
  async now(): Promise<number> {
    if (this.clock) return this.clock();
    const [s, us] = await (this.redis as Redis).time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}
