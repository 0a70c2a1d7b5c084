import { describe, expect, it } from 'vitest';
import { CHECK_FIELDS, checkFieldsFrom, combine, evaluate, type Verdict } from '../../src/check.ts';
import { loadVectors } from '../../../../test/helpers/vectors.ts';

/**
 * The pure read path (HMGET + evaluate) gives every vector's per-scope verdict, and combine() its
 * answer wherever no trial permit is involved (those need the takePermit script: see vectors.test.ts).
 */
describe('conformance vectors: the read path (evaluate, combine)', () => {
  for (const v of loadVectors()) {
    it(v.name, () => {
      const verdicts = v.scopes.map((s) => {
        const h = v.breakers.find((b) => b.scope === s.scope && b.id === s.id)?.hash ?? {};
        const verdict = evaluate(checkFieldsFrom(CHECK_FIELDS.map((f) => h[f] ?? null)), v.now);
        const kind = verdict.kind === 'probe' ? 'trial' : verdict.kind;
        expect({ scope: s.scope, id: s.id, verdict: kind, ...(kind === 'deny' ? { retryAfterMs: (verdict as Extract<Verdict, { kind: 'deny' }>).retryAfterMs } : {}) }).toEqual(s);
        return { ref: { scope: s.scope, id: s.id }, verdict };
      });
      if (verdicts.some((x) => x.verdict.kind === 'probe') && !verdicts.some((x) => x.verdict.kind === 'deny')) return;
      const settled = verdicts.filter((x): x is { ref: typeof x.ref; verdict: Exclude<Verdict, { kind: 'probe' }> } => x.verdict.kind !== 'probe');
      const a = combine(settled);
      expect({ allowed: a.allowed, blockingScope: a.blockingScope, state: a.state, retryAfterMs: a.retryAfterMs, permits: a.permits }).toEqual(v.expect);
    });
  }
});
