import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFieldsFrom, CHECK_FIELDS, evaluate } from '@vigil/breaker-client/protocol';
import { BreakerModel } from '../../src/breakers/model.ts';
import { breakerToHash, type BreakerScope } from '../../src/breakers/state.ts';
import { sampleReason } from './helpers.ts';
import { BREAKERS, opsArbitrary } from './ops.ts';

/**
 * The plain-read path (HMGET + evaluate, what @vigil/breaker-client and any Go or Python reader do) agrees with
 * the takePermit script's decision for every reachable breaker state and time: allow ⇔ allowed,
 * deny ⇔ denied with the same retry-after, and "probe" exactly where the script hands out a trial permit.
 */
describe('read path (HMGET + evaluate) vs takePermit', () => {
  it('agree for random histories and check times', () => {
    fc.assert(
      fc.property(opsArbitrary(40), fc.integer({ min: 0, max: 500_000 }), (ops, lastStep) => {
        const m = new BreakerModel();
        let now = 1_700_000_000_000;
        for (const op of ops) {
          if (op.op === 'advance') { now += op.ms; continue; }
          const [scope, id] = BREAKERS[op.b]! as unknown as [BreakerScope, string];
          if (op.op === 'trip') m.trip(scope, id, now, { findingId: op.finding, reason: sampleReason(op.finding), settings: op.settings });
          else if (op.op === 'take') m.takePermit(scope, id, now);
          else if (op.op === 'report') m.reportTrial(scope, id, now, op.success);
          else if (op.op === 'force') m.force(scope, id, now, { mode: op.mode, actor: 'a', note: 'n', ttlMs: op.ttlMs });
          else m.reset(scope, id, now, 'a', 'n');
        }
        now += lastStep;
        for (const [scope, id] of BREAKERS as unknown as [BreakerScope, string][]) {
          const stored = m.get(scope, id);
          const h = stored ? breakerToHash(stored) : {};
          const verdict = evaluate(checkFieldsFrom(CHECK_FIELDS.map((f) => h[f] ?? null)), now);
          const r = m.takePermit(scope, id, now);
          if (verdict.kind === 'allow') expect(r.outcome).toBe('allowed');
          else if (verdict.kind === 'deny') expect([r.outcome, r.retryAfterMs]).toEqual(['denied', verdict.retryAfterMs]);
          else expect(r.outcome).toBe('permit');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never reports a retry-after longer than the breaker was opened for, even with a clock estimate that lags Redis', () => {
    const since = 1_700_000_000_000;
    const fields = checkFieldsFrom(CHECK_FIELDS.map((f) => ({ v: '1', state: 'open', since: String(since), until: String(since + 600_000) } as Record<string, string>)[f] ?? null));
    expect(evaluate(fields, since - 2)).toMatchObject({ kind: 'deny', retryAfterMs: 600_000 });
    expect(evaluate(fields, since + 1000)).toMatchObject({ kind: 'deny', retryAfterMs: 599_000 });
  });
});
