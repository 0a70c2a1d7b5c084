import { expect } from 'vitest';
import type { RedisClient } from '../../src/redis/connection.ts';
import { BreakerStore, type OverrideResult } from '../../src/breakers/breaker-store.ts';
import { BreakerModel } from '../../src/breakers/model.ts';
import { breakerToHash, type BreakerScope } from '../../src/breakers/state.ts';
import { isBreakerError } from '@vigil/breaker-client/protocol';
import { runScript } from '../../src/redis/scripts.ts';
import type { OpResult } from '../../src/breakers/machine.ts';
import { sampleReason, uniqueKeys } from './helpers.ts';
import { type Op, BREAKERS } from './ops.ts';

/** An override's result without what became of its audit records (the model has no outbox). */
function withoutAudit(r: OverrideResult): OpResult {
  const { audit: _audit, ...rest } = r;
  return rest;
}

/**
 * The Lua scripts against the TypeScript reference model: random operation sequences, same results,
 * same stored hashes. Time is controlled by the scripts' test-only ARGV[1] clock override (a virtual
 * clock that the `advance` operation moves), so cool-downs, trial deadlines and override expiry are
 * exercised without waiting.
 */
export async function runOps(redis: RedisClient, ops: Op[], start: number): Promise<void> {
  const keys = uniqueKeys('prop');
  let now = start;
  const store = new BreakerStore({ redis, keys, clock: () => now });
  const model = new BreakerModel();
  try {
    for (const [i, op] of ops.entries()) {
      if (op.op === 'advance') {
        now += op.ms;
        continue;
      }
      const [scope, id] = BREAKERS[op.b]! as [BreakerScope, string];
      if ((op.op === 'force' || op.op === 'reset') && op.late) {
        // Past its write deadline (1 ms, on the same virtual clock): the script refuses, and the final
        // hashes below show it changed nothing; the model is not asked.
        const script = op.op === 'reset' ? 'resetBreaker' : op.mode === 'forced_open' ? 'forceOpenBreaker' : 'forceCloseBreaker';
        const own = op.op === 'reset' ? ['ops@example', 'late'] : ['ops@example', 'late', op.ttlMs];
        const ret = await runScript(redis, script, [keys.breakerState(scope, id), keys.breakerAudit(scope, id)], [String(now), keys.breakerTransitionsChannel(), scope, id, ...own.map(String), String(now - 1)]);
        expect(ret, `op #${i} ${JSON.stringify(op)}`).toBe(-4);
        continue;
      }
      let lua: OpResult | 'not_found';
      let ref: OpResult | 'not_found';
      switch (op.op) {
        case 'trip': {
          const args = { findingId: op.finding, reason: sampleReason(op.finding), settings: op.settings };
          lua = await store.trip(scope, id, args);
          ref = model.trip(scope, id, now, args);
          break;
        }
        case 'take':
          lua = await store.takePermit(scope, id);
          ref = model.takePermit(scope, id, now);
          break;
        case 'report':
          lua = await store.reportTrial(scope, id, op.success);
          ref = model.reportTrial(scope, id, now, op.success);
          break;
        case 'force': {
          const a = { mode: op.mode, actor: 'ops@example', note: 'maintenance', ttlMs: op.ttlMs };
          lua = withoutAudit(await store.force(scope, id, a));
          ref = model.force(scope, id, now, a);
          break;
        }
        case 'reset':
          lua = await store.reset(scope, id, 'ops@example', 'fixed').then(withoutAudit, (e) => {
            if (isBreakerError(e) && e.code === 'not_found') return 'not_found' as const;
            throw e;
          });
          ref = model.reset(scope, id, now, 'ops@example', 'fixed') ?? 'not_found';
          break;
      }
      expect(lua, `op #${i} ${JSON.stringify(op)}`).toEqual(ref);
    }
    for (const [scope, id] of BREAKERS as unknown as [BreakerScope, string][]) {
      const h = await redis.hgetall(keys.breakerState(scope, id));
      const m = model.get(scope, id);
      const expected = m ? breakerToHash(m) : {};
      const parse = (x: Record<string, string>) => ({ ...x, ...(x.reason ? { reason: JSON.parse(x.reason) } : {}) });
      expect(parse(h), `final hash of ${scope}:${id}`).toEqual(parse(expected));
      const f = await redis.hgetall(keys.breakerFindings(scope, id));
      const mf = Object.fromEntries([...(model.findings.get(`${scope}:${id}`) ?? new Map())].map(([k, t]) => [k, t ?? '']));
      expect(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v ? JSON.parse(v) : ''])), `findings of ${scope}:${id}`).toEqual(mf);
    }
  } finally {
    // The scripts touch only these keys: delete them by name (a SCAN of a shared Redis full of other
    // tests' keys, once per run of 150, took longer than the test's timeout).
    const touched = (BREAKERS as unknown as [BreakerScope, string][]).flatMap(([scope, id]) => [keys.breakerState(scope, id), keys.breakerFindings(scope, id), keys.breakerAudit(scope, id)]);
    await Promise.all(touched.map((k) => redis.del(k)));
  }
}

