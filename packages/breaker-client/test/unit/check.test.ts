import { describe, expect, it } from 'vitest';
import { combine, evaluate } from '../../src/check.ts';

const NOW = 1_700_000_000_000;

/** The pure read path against the protocol's table (docs/breaker-protocol.md, "Checking a breaker"). */
describe('evaluate: unknown protocol versions and states deny', () => {
  it('denies a hash of another protocol version, whatever its state says', () => {
    for (const state of ['closed', 'open', 'forced_closed', 'half_open', undefined]) {
      const v = evaluate({ v: '2', ...(state ? { state } : {}), until: String(NOW - 1) }, NOW);
      expect(v, `v=2 state=${state}`).toMatchObject({ kind: 'deny', state: 'unknown', retryAfterMs: null });
      expect(v.kind === 'deny' && v.note).toContain('protocol version "2"');
    }
  });

  it('denies a hash with a state but no version, and a state v1 does not know', () => {
    expect(evaluate({ state: 'open', until: String(NOW - 1) }, NOW)).toMatchObject({ kind: 'deny', state: 'unknown', retryAfterMs: null });
    const ajar = evaluate({ v: '1', state: 'ajar' }, NOW);
    expect(ajar).toMatchObject({ kind: 'deny', state: 'unknown', retryAfterMs: null });
    expect(ajar.kind === 'deny' && ajar.note).toContain('unknown state "ajar"');
  });

  it('allows no hash (no field at all) and a v1 closed one', () => {
    expect(evaluate({}, NOW)).toMatchObject({ kind: 'allow', state: 'closed' });
    expect(evaluate({ v: '1', state: 'closed' }, NOW)).toMatchObject({ kind: 'allow', state: 'closed' });
  });

  it('an unknown breaker is the answer: blocking scope, state unknown, no retry-after, reason naming it', () => {
    const a = combine([
      { ref: { scope: 'global', id: 'all' }, verdict: { kind: 'allow', state: 'closed', permit: false } },
      { ref: { scope: 'vendor', id: 'acme-air' }, verdict: evaluate({ v: '2', state: 'closed' }, NOW) as never },
    ]);
    expect(a).toMatchObject({ allowed: false, blockingScope: { scope: 'vendor', id: 'acme-air' }, state: 'unknown', retryAfterMs: null, permits: [] });
    expect(a.reason).toContain('vendor acme-air');
    expect(a.degraded).toBeUndefined();
  });
});
