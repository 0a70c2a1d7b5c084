import { Cluster, Redis } from 'ioredis';
import { CHECK_FIELDS, checkFieldsFrom, combine, evaluate, scopesOf, unknownBreaker } from './check.ts';
import type { CheckAnswer, CheckFields, ScopeRef, Verdict } from './check.ts';
import { CheckCache } from './check-cache.ts';
import { BreakerError } from './errors.ts';
import { BreakerKeys } from './keys.ts';
import { registerScripts, runScript } from './lua.ts';
import { scopeIdProblem } from './protocol.ts';
import type { BreakerScope } from './protocol.ts';
import type { OpResult } from './results.ts';
import type { BreakerTransition } from './transition.ts';

export type FailMode = 'open' | 'closed';

export interface BreakerClientOptions {
  /** redis://host:port; with `cluster: true` (or several comma-separated URLs) a Redis Cluster. */
  redisUrl?: string;
  cluster?: boolean;
  /** Or an existing client (its scripts get registered; the client does not close it). */
  redis?: Redis | Cluster;
  /** The monitor's key prefix (config redis.keyPrefix), default `vigil`. */
  keyPrefix?: string;
  /** What to answer when Redis cannot be asked: allow (open) or deny (closed), per scope. */
  failMode: { default: FailMode; perScope?: Partial<Record<BreakerScope, FailMode>> };
  /** Keep a local cache fresh by pub/sub (default false). */
  cache?: boolean;
  /** Safety net: a cached breaker is re-read after this long even without a message (default 5000). */
  cacheTtlMs?: number;
  /** A check that takes longer than this answers by fail mode (default 250 ms). */
  timeoutMs?: number;
  /** Called with every transition message received (only when the cache is on). */
  onTransition?: (t: BreakerTransition) => void;
  /**
   * Tests and conformance runs only: the Redis time (epoch ms) to check at instead of Redis TIME, also
   * passed to the scripts as their time (ARGV[1]). Leave it out in production.
   */
  clock?: () => number;
  /** Called with every answer given by the fail mode (e.g. to count and log them); must not throw. */
  onDegraded?: (d: DegradedCheck) => void;
}

/** A check that Redis could not answer in time, and the fail-mode answer given instead. */
export interface DegradedCheck {
  answer: CheckAnswer;
  /** The scopes the check consulted. */
  scopes: ScopeRef[];
  /** `timeout`: no answer within timeoutMs; `redis_error`: Redis (or the connection) failed. */
  cause: 'timeout' | 'redis_error';
  error: unknown;
}

export interface CheckQuery {
  vendor?: string;
  agent?: string;
  user?: string;
  action?: string;
}

export interface CheckOptions {
  /**
   * Take half-open trial permits (default true). With false the check changes nothing in Redis: a
   * breaker due for a trial call denies (retry-after unknown) instead, as for a caller that could not
   * report the trial's outcome.
   */
  takePermits?: boolean;
}

export interface BreakerClient {
  /** Checks every scope that applies to one intended action in one round trip; never throws for Redis trouble. */
  check(q: CheckQuery, opts?: CheckOptions): Promise<CheckAnswer>;
  /**
   * Reports the outcome of the call a half-open permit let through (pass the check's answer or its permits).
   * Throws a retriable BreakerError (code redis_unreachable) when Redis cannot be told.
   */
  reportOutcome(permits: CheckAnswer | readonly ScopeRef[], success: boolean): Promise<void>;
  /** Resolves once connected (and subscribed, with the cache on). */
  ready(): Promise<void>;
  close(): Promise<void>;
  readonly stats: { checks: number; cacheHits: number; redisReads: number; degraded: number; permitsTaken: number };
}

class TimeoutError extends Error {}

/** A breaker due for a trial call, for a check that takes no permits: denied, retry-after unknown. */
function trialNotTaken(state: 'open' | 'half_open'): Extract<Verdict, { kind: 'deny' }> {
  return { kind: 'deny', state, retryAfterMs: null, reason: null, actor: null, note: 'due for a trial call, and this check takes no trial permits' };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * The upstream client: any Node service checks the shared breakers before acting (protocol v1).
 */
export function createBreakerClient(opts: BreakerClientOptions): BreakerClient {
  if (!opts.failMode || (opts.failMode.default !== 'open' && opts.failMode.default !== 'closed')) {
    throw new BreakerError('invalid_argument', 'failMode.default must be "open" or "closed"', { scope: '-', id: '-', script: 'createBreakerClient', retriable: false });
  }
  for (const [scope, mode] of Object.entries(opts.failMode.perScope ?? {})) {
    const problem = scopeIdProblem(scope, scope === 'global' ? 'all' : 'x');
    if (problem || (mode !== 'open' && mode !== 'closed')) {
      throw new BreakerError('invalid_argument', `failMode.perScope.${scope} must be a scope mapped to "open" or "closed"`, { scope, id: '-', script: 'createBreakerClient', retriable: false });
    }
  }
  const keys = new BreakerKeys(opts.keyPrefix ?? 'vigil');
  const timeoutMs = opts.timeoutMs ?? 250;
  const ownsRedis = !opts.redis;
  const redis: Redis | Cluster = opts.redis ?? makeRedis(opts.redisUrl ?? 'redis://127.0.0.1:6379', opts.cluster ?? false, timeoutMs);
  registerScripts(redis);
  const isCluster = 'isCluster' in redis && redis.isCluster === true;
  const autoPipelined = (redis as Redis).options?.enableAutoPipelining === true || (redis as Cluster).options?.enableAutoPipelining === true;
  const cache = opts.cache ? new CheckCache(opts.cacheTtlMs ?? 5000) : undefined;
  const stats = { checks: 0, cacheHits: 0, redisReads: 0, degraded: 0, permitsTaken: 0 };
  /** Redis time minus local time (checks evaluate at local time plus this). */
  let offsetMs = 0;

  let subscriber: Redis | Cluster | undefined;
  let subscribed: Promise<void> = Promise.resolve();
  if (cache) {
    subscriber = isCluster
      ? (redis as Cluster).duplicate(undefined, { enableOfflineQueue: true })
      : (redis as Redis).duplicate({ enableOfflineQueue: true });
    const channel = keys.transitionsChannel();
    subscriber.on('message', (ch: string, msg: string) => {
      if (ch !== channel) return;
      try {
        const t = JSON.parse(msg) as BreakerTransition;
        cache.invalidate(`${t.scope}:${t.scopeId}`);
        opts.onTransition?.(t);
      } catch {
        cache.clear();
      }
    });
    subscriber.on('close', () => {
      cache.enabled = false;
      cache.clear();
    });
    subscriber.on('ready', () => {
      cache.clear();
      cache.enabled = true;
    });
    subscriber.on('error', () => {});
    subscribed = (subscriber as Redis).subscribe(channel).then(() => {
      cache.clear();
      cache.enabled = true;
    });
  }
  // An owned client's connection errors surface as degraded answers, not as unhandled 'error' events.
  if (ownsRedis) redis.on('error', () => {});

  // A client asked right after it was made must wait for its first connection (within the check's
  // timeout) rather than answer by the fail mode; once connected, an outage fails fast.
  let connectedOnce = redis.status === 'ready';
  redis.on('ready', () => {
    connectedOnce = true;
  });
  function firstConnection(): Promise<void> | undefined {
    if (connectedOnce || redis.status === 'ready' || redis.status === 'end' || redis.status === 'close') return undefined;
    return new Promise<void>((resolve, reject) => {
      const done = (e?: unknown) => {
        redis.off('ready', onReady);
        redis.off('error', onError);
        if (e === undefined) resolve();
        else reject(e);
      };
      const onReady = () => done();
      const onError = (e: unknown) => done(e);
      redis.on('ready', onReady);
      redis.on('error', onError);
    });
  }

  /** The scripts' ARGV[1]: '' (they take Redis TIME) unless a test clock is set. */
  const scriptTime = (): string => (opts.clock ? String(opts.clock()) : '');
  const failModeOf = (scope: BreakerScope): FailMode => opts.failMode.perScope?.[scope] ?? opts.failMode.default;

  function degraded(refs: ScopeRef[]): CheckAnswer {
    stats.degraded += 1;
    const closed = refs.find((r) => failModeOf(r.scope) === 'closed');
    if (!closed) return { allowed: true, blockingScope: null, state: 'unknown', reason: null, detail: null, retryAfterMs: null, permits: [], degraded: 'redis_unreachable' };
    return {
      allowed: false, blockingScope: closed, state: 'unknown', detail: null, retryAfterMs: null, permits: [], degraded: 'redis_unreachable',
      reason: `Redis unreachable: ${closed.scope} breakers fail closed`,
    };
  }

  /** Local time plus the measured offset to Redis time; re-measured (TIME in the read) at least every second. */
  let offsetAt = -Infinity;
  const OFFSET_MAX_AGE_MS = 1000;

  async function readFields(refs: ScopeRef[]): Promise<{ fields: CheckFields[]; now: number }> {
    const keyList = refs.map((r) => keys.state(r.scope, r.id));
    stats.redisReads += 1;
    const before = Date.now();
    const withTime = !opts.clock && before - offsetAt >= OFFSET_MAX_AGE_MS;
    let time: [string, string] | undefined;
    let replies: (string | null)[][];
    if (!isCluster && !autoPipelined) {
      const p = (redis as Redis).pipeline();
      if (withTime) p.time();
      for (const k of keyList) p.hmget(k, ...CHECK_FIELDS);
      const res = (await p.exec()) ?? [];
      for (const [err] of res) if (err) throw err;
      if (withTime) time = res.shift()![1] as [string, string];
      replies = res.map(([, v]) => v as (string | null)[]);
    } else {
      // Auto-pipelined (one write for every command issued in this tick) or, on a cluster, sent to each
      // breaker's master at once: one round trip either way.
      const reads = Promise.all(keyList.map((k) => redis.hmget(k, ...CHECK_FIELDS)));
      const [t, r] = await Promise.all([withTime ? redis.time() : undefined, reads]);
      time = t as unknown as [string, string] | undefined;
      replies = r as (string | null)[][];
    }
    if (time) {
      const redisNow = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      offsetMs = redisNow - Math.round((before + Date.now()) / 2);
      offsetAt = before;
    }
    return { fields: replies.map(checkFieldsFrom), now: opts.clock ? opts.clock() : Date.now() + offsetMs };
  }

  async function probe(ref: ScopeRef): Promise<Exclude<Verdict, { kind: 'probe' }>> {
    const ret = await runScript(redis, 'takePermit', [keys.state(ref.scope, ref.id)], [scriptTime(), keys.transitionsChannel(), ref.scope, ref.id]);
    // -1: the hash changed to another protocol version (or an unknown state) since it was read. Redis
    // answered, so this is no outage: deny, as the read path would have.
    if (ret === -1) return unknownBreaker(`protocol version or state unknown to this client (takePermit answered -1)`);
    if (typeof ret === 'number') throw new BreakerError('invalid_argument', `takePermit returned ${ret}`, { scope: ref.scope, id: ref.id, script: 'takePermit', retriable: false });
    const r = JSON.parse(String(ret)) as OpResult;
    cache?.invalidate(`${ref.scope}:${ref.id}`);
    if (r.outcome === 'permit') {
      stats.permitsTaken += 1;
      return { kind: 'allow', state: r.state, permit: true };
    }
    if (r.outcome === 'allowed') return { kind: 'allow', state: r.state, permit: false };
    return { kind: 'deny', state: r.state, retryAfterMs: r.retryAfterMs, reason: r.reason, actor: r.actor, note: r.note };
  }

  async function checkOnline(refs: ScopeRef[], takePermits: boolean): Promise<CheckAnswer> {
    const fields: (CheckFields | undefined)[] = refs.map((r) => cache?.get(`${r.scope}:${r.id}`));
    let now = opts.clock ? opts.clock() : Date.now() + offsetMs;
    const missing = refs.filter((_, i) => fields[i] === undefined);
    if (missing.length === 0) {
      stats.cacheHits += 1;
    } else {
      const tokens = missing.map((r) => cache?.token(`${r.scope}:${r.id}`) ?? '');
      const read = await readFields(missing);
      now = read.now;
      let j = 0;
      refs.forEach((r, i) => {
        if (fields[i] !== undefined) return;
        fields[i] = read.fields[j];
        cache?.set(`${r.scope}:${r.id}`, read.fields[j]!, tokens[j]!);
        j += 1;
      });
    }
    const verdicts = refs.map((ref, i) => ({ ref, verdict: evaluate(fields[i]!, now) }));
    const settled = verdicts.filter((v): v is { ref: ScopeRef; verdict: Exclude<Verdict, { kind: 'probe' }> } => v.verdict.kind !== 'probe');
    if (settled.some((v) => v.verdict.kind === 'deny') || settled.length === verdicts.length) return combine(settled);
    // Only scopes that are (or may become) half_open remain: take their trial permits atomically.
    const probes = verdicts.filter((v) => v.verdict.kind === 'probe');
    if (!takePermits) {
      return combine([...settled, ...probes.map((v) => ({ ref: v.ref, verdict: trialNotTaken(v.verdict.state as 'open' | 'half_open') }))]);
    }
    const probed = await Promise.all(probes.map(async (v) => ({ ref: v.ref, verdict: await probe(v.ref) })));
    return combine([...settled, ...probed]);
  }

  return {
    stats,
    async check(q: CheckQuery, checkOpts: CheckOptions = {}): Promise<CheckAnswer> {
      for (const scope of ['vendor', 'agent', 'user', 'action'] as const) {
        const id = q[scope];
        if (id === undefined || id === '') continue;
        const problem = scopeIdProblem(scope, id);
        if (problem) throw new BreakerError('invalid_argument', problem, { scope, id: String(id), script: 'check', retriable: false });
      }
      stats.checks += 1;
      const refs = scopesOf(q);
      try {
        const online = async () => {
          await firstConnection();
          return checkOnline(refs, checkOpts.takePermits !== false);
        };
        return await withTimeout(online(), timeoutMs);
      } catch (error) {
        const answer = degraded(refs);
        try {
          opts.onDegraded?.({ answer, scopes: refs, cause: error instanceof TimeoutError ? 'timeout' : 'redis_error', error });
        } catch {
          // an observer's failure must not change the answer
        }
        return answer;
      }
    },
    async reportOutcome(permits: CheckAnswer | readonly ScopeRef[], success: boolean): Promise<void> {
      const list = 'permits' in permits ? permits.permits : permits;
      await Promise.all(
        list.map(async (ref) => {
          let ret: unknown;
          try {
            ret = await withTimeout(runScript(redis, 'reportTrial', [keys.state(ref.scope, ref.id)], [scriptTime(), keys.transitionsChannel(), ref.scope, ref.id, success ? '1' : '0']), timeoutMs);
          } catch (e) {
            // The permit is handed out again after the breaker's trial deadline: nothing is stuck.
            throw new BreakerError('redis_unreachable', `the trial outcome could not be reported: ${(e as Error).message}`, { scope: ref.scope, id: ref.id, script: 'reportTrial', retriable: true, cause: e });
          }
          if (typeof ret === 'number') throw new BreakerError('invalid_argument', `reportTrial returned ${ret}`, { scope: ref.scope, id: ref.id, script: 'reportTrial', retriable: false });
          cache?.invalidate(`${ref.scope}:${ref.id}`);
        }),
      );
    },
    async ready(): Promise<void> {
      if (redis.status !== 'ready') await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
      await subscribed;
    },
    async close(): Promise<void> {
      if (subscriber) subscriber.disconnect();
      if (ownsRedis) redis.disconnect();
    },
  };
}

function makeRedis(url: string, cluster: boolean, timeoutMs: number): Redis | Cluster {
  const urls = url.split(',').map((u) => u.trim()).filter(Boolean);
  const options = {
    connectionName: 'vigil-breaker-client',
    // Concurrent checks share socket writes: several checks' reads leave in one write.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    // Jittered (half to all of the delay), so services that lost Redis together do not reconnect in lockstep.
    retryStrategy: (times: number) => {
      const d = Math.min(50 * 2 ** Math.min(times, 5), 1000);
      return Math.floor(d / 2 + (Math.random() * d) / 2);
    },
  };
  if (cluster || urls.length > 1) {
    const nodes = urls.map((u) => {
      const p = new URL(u);
      return { host: p.hostname, port: Number(p.port || 6379) };
    });
    return new Cluster(nodes, { redisOptions: options, enableAutoPipelining: true, enableOfflineQueue: false, clusterRetryStrategy: options.retryStrategy });
  }
  return new Redis(urls[0]!, options);
}
