import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { BreakerModel } from '../../src/breakers/model.ts';
import { BREAKER_SCOPES, BREAKER_STATES } from '../../src/breakers/state.ts';
import { TRANSITION_CAUSES, type BreakerTransition } from '@vigil/breaker-client/protocol';
import { sampleReason } from './helpers.ts';

const schema = JSON.parse(readFileSync(new URL('../../schemas/breaker-transition.avsc', import.meta.url), 'utf8'));
const type = avro.Type.forSchema(schema);

/** Transitions of every cause, made by the reference model (the Lua scripts return the same, see lua-vs-model). */
function sampleTransitions(): BreakerTransition[] {
  const m = new BreakerModel();
  const s = { baseMs: 1000, capMs: 8000, jitter: 0.5, trials: 1, trialTimeoutMs: 500 };
  const out: BreakerTransition[] = [];
  const t = (r: { transitions: BreakerTransition[] } | undefined) => out.push(...(r?.transitions ?? []));
  t(m.trip('vendor', 'v1', 0, { findingId: 'f1', reason: sampleReason('f1', { observed: null, threshold: null }), settings: s }));
  t(m.takePermit('vendor', 'v1', 5000));
  t(m.reportTrial('vendor', 'v1', 5001, false));
  t(m.takePermit('vendor', 'v1', 20_000));
  t(m.reportTrial('vendor', 'v1', 20_001, true));
  t(m.force('agent', 'a1', 30_000, { mode: 'forced_open', actor: 'alice', note: 'incident 42', ttlMs: 1000 }));
  t(m.takePermit('agent', 'a1', 40_000));
  t(m.force('user', 'u1', 50_000, { mode: 'forced_closed', actor: 'bob', note: 'false positive', ttlMs: 1000 }));
  t(m.reset('user', 'u1', 50_500, 'bob', 'done'));
  return out;
}

describe('schemas/breaker-transition.avsc', () => {
  const samples = sampleTransitions();

  it('covers every cause in the samples', () => {
    expect(new Set(samples.map((s) => s.cause))).toEqual(new Set(TRANSITION_CAUSES));
  });

  it('accepts every transition the state machine makes, and round-trips it unchanged', () => {
    for (const t of samples) {
      const errors: string[] = [];
      expect(type.isValid(t, { errorHook: (path) => errors.push(path.join('.')) }), `${t.cause}: ${errors.join(', ')}`).toBe(true);
      expect(type.fromBuffer(type.toBuffer(t))).toEqual(t);
    }
  });

  it('has exactly the fields and enum symbols of the TypeScript type', () => {
    expect(schema.fields.map((f: { name: string }) => f.name).sort()).toEqual(Object.keys(samples[0]!).sort());
    const enumOf = (name: string) => schema.fields.find((f: { name: string }) => f.name === name).type.symbols;
    expect(enumOf('scope')).toEqual([...BREAKER_SCOPES]);
    expect(enumOf('from')).toEqual([...BREAKER_STATES]);
    expect(enumOf('cause')).toEqual([...TRANSITION_CAUSES]);
    const reason = schema.fields.find((f: { name: string }) => f.name === 'reason').type[1];
    expect(reason.fields.map((f: { name: string }) => f.name).sort()).toEqual(Object.keys(sampleReason('x')).sort());
  });

  it('refuses a transition with a wrong field', () => {
    expect(type.isValid({ ...samples[0]!, scope: 'tenant' })).toBe(false);
    expect(type.isValid({ ...samples[0]!, at: '2026-11-23' })).toBe(false);
  });
});
