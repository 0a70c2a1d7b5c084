import type { Cluster, Redis } from 'ioredis';
import type { KeyBuilder } from '../redis/keys.ts';
import { runScript } from '../redis/scripts.ts';
import { BreakerError, scriptError } from '@vigil/breaker-client/protocol';
import type { ForceArgs, OpResult, TripArgs } from './machine.ts';
import { breakerFromHash, scopeIdProblem } from './state.ts';
import type { Breaker, BreakerScope, BreakerStateName } from './state.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';

type RedisClient = Redis | Cluster;

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

  constructor(opts: BreakerStoreOptions) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.publish = opts.publishTransition;
    this.clock = opts.clock;
  }

  private async run(script: string, scope: BreakerScope, id: string, extraKeys: string[], args: (string | number)[]): Promise<OpResult> {
    const problem = scopeIdProblem(scope, id);
    if (problem) throw new BreakerError('invalid_argument', problem, { scope: String(scope), id: String(id), script, retriable: false });
    const keys = [this.keys.breakerState(scope, id), ...extraKeys];
    const argv = [this.clock ? String(this.clock()) : '', this.keys.breakerTransitionsChannel(), scope, id, ...args.map(String)];
    let ret: unknown;
    try {
      ret = await runScript(this.redis, script, keys, argv);
    } catch (e) {
      throw new BreakerError('redis_unreachable', `Redis failed: ${(e as Error).message}`, { scope, id, script, retriable: true, cause: e });
    }
    if (typeof ret === 'number') throw scriptError(ret, { scope, id, script });
    const result = JSON.parse(String(ret)) as OpResult;
    if (this.publish) for (const t of result.transitions) await this.publish(t);
    return result;
  }

  /** Applies a finding to a breaker (idempotent per findingId). */
  trip(scope: BreakerScope, id: string, a: TripArgs): Promise<OpResult> {
    const s = a.settings;
    return this.run('tripBreaker', scope, id, [this.keys.breakerFindings(scope, id)], [
      a.findingId, JSON.stringify(a.reason), s.baseMs, s.capMs, s.jitter, s.trials, s.trialTimeoutMs,
    ]);
  }

  /** Checks one breaker, taking a half-open trial permit when it is (or becomes) half_open. */
  takePermit(scope: BreakerScope, id: string): Promise<OpResult> {
    return this.run('takePermit', scope, id, [], []);
  }

  /** Reports a half-open trial's outcome. */
  reportTrial(scope: BreakerScope, id: string, success: boolean): Promise<OpResult> {
    return this.run('reportTrial', scope, id, [], [success ? '1' : '0']);
  }

  /** Operator override: forced_open or forced_closed for ttlMs. */
  force(scope: BreakerScope, id: string, a: ForceArgs): Promise<OpResult> {
    return this.run(a.mode === 'forced_open' ? 'forceOpenBreaker' : 'forceCloseBreaker', scope, id, [], [a.actor, a.note, a.ttlMs]);
  }

  /** Operator reset to closed; throws a not_found BreakerError for a breaker that does not exist. */
  reset(scope: BreakerScope, id: string, actor: string, note: string): Promise<OpResult> {
    return this.run('resetBreaker', scope, id, [], [actor, note]);
  }

  /** One breaker as stored, or undefined when it has no hash (closed). */
  async get(scope: BreakerScope, id: string): Promise<Breaker | undefined> {
    const h = await this.redis.hgetall(this.keys.breakerState(scope, id));
    return Object.keys(h).length === 0 ? undefined : breakerFromHash(scope, id, h);
  }

  /** Every stored breaker (SCAN on every master of a cluster), optionally filtered, sorted by scope and id. */
  async list(filter: { scope?: BreakerScope; state?: BreakerStateName } = {}): Promise<Breaker[]> {
    const nodes: Redis[] = 'nodes' in this.redis && typeof (this.redis as Cluster).nodes === 'function' && (this.redis as Cluster).isCluster
      ? (this.redis as Cluster).nodes('master')
      : [this.redis as Redis];
    const keys = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', this.keys.breakerStatePattern(), 'COUNT', 500);
        for (const k of batch) keys.add(k);
        cursor = next;
      } while (cursor !== '0');
    }
    const out: Breaker[] = [];
    const all = [...keys];
    const hashes: Record<string, string>[] = [];
    // Reads in chunks sent together (auto-pipelined on one node, per master on a cluster).
    for (let i = 0; i < all.length; i += 200) hashes.push(...(await Promise.all(all.slice(i, i + 200).map((k) => this.redis.hgetall(k)))));
    for (const h of hashes) {
      if (!h.scope || !h.id) continue;
      const b = breakerFromHash(h.scope as BreakerScope, h.id, h);
      if (filter.scope && b.scope !== filter.scope) continue;
      if (filter.state && b.status.kind !== filter.state) continue;
      out.push(b);
    }
    return out.sort((a, b) => (a.scope + ':' + a.id).localeCompare(b.scope + ':' + b.id));
  }

  /** Redis time in epoch ms (what the scripts use), or the test clock. */
  async now(): Promise<number> {
    if (this.clock) return this.clock();
    const [s, us] = await (this.redis as Redis).time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}
