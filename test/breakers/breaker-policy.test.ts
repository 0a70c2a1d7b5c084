import { describe, expect, it } from 'vitest';
import { parseBreakerPolicy, validateBreakerSection, BreakerPolicyError } from '../../src/breakers/breaker-policy.ts';
import { decideTrips } from '../../src/breakers/decide-trips.ts';
import { DEFAULT_SETTINGS } from '../../src/breakers/state.ts';
import type { Finding } from '../../processors/core/finding.ts';

const at = (path: string) => `policy.yaml (${path})`;

function finding(over: Partial<Finding> = {}): Finding {
  return {
    findingId: 'f_1', kind: 'vendor_failure_rate', severity: 'critical', scope: { type: 'vendor', id: 'acme-air' },
    detectedAt: '2026-11-23T18:02:03.123Z', eventIds: ['e1', 'e2'], ruleId: 'vendor_failure_rate', policyVersion: 'p-abc',
    shadow: false, summary: 'acme-air failed 12 of 20 calls', traceIds: ['t1'], metrics: { observed: 0.6, threshold: 0.5 }, ...over,
  };
}

describe('parseBreakerPolicy', () => {
  it('gives the default rules of issue 4 when the section is absent', () => {
    const p = parseBreakerPolicy(undefined, at);
    expect(p.defaults).toEqual(DEFAULT_SETTINGS);
    expect(Object.fromEntries(Object.entries(p.rules).map(([k, r]) => [k, r!.scope]))).toEqual({
      vendor_failure_rate: 'vendor', retry_spike: 'agent', confirmation_failure_spike: 'agent',
      duplicate_action: 'user', runaway_agent: 'user', action_after_consent_revoked: 'user',
    });
  });

  it('merges rules by kind over the defaults, with per-rule settings', () => {
    const p = parseBreakerPolicy({
      defaults: { baseMs: 10_000, capMs: 100_000 },
      rules: { retry_spike: { baseMs: 20_000 }, unmasked_pii: { scope: 'agent', shadow: true }, runaway_agent: { enabled: false } },
    }, at);
    expect(p.rules.retry_spike).toMatchObject({ scope: 'agent', settings: { baseMs: 20_000, capMs: 100_000, jitter: 0.2, trials: 3 } });
    expect(p.rules.duplicate_action!.settings.baseMs).toBe(10_000);
    expect(p.rules.unmasked_pii).toMatchObject({ scope: 'agent', shadow: true });
    expect(p.rules.runaway_agent!.enabled).toBe(false);
  });

  const bad: [string, unknown, string][] = [
    ['section not a mapping', ['x'], 'breakers: must be a mapping'],
    ['unknown top key', { rulez: {} }, 'breakers.rulez: unknown key'],
    ['defaults not a mapping', { defaults: 3 }, 'breakers.defaults: must be a mapping'],
    ['unknown default key', { defaults: { baseMS: 1 } }, 'breakers.defaults.baseMS: unknown key'],
    ['baseMs not whole', { defaults: { baseMs: 1.5 } }, 'breakers.defaults.baseMs: must be a whole number'],
    ['jitter out of range', { defaults: { jitter: 2 } }, 'breakers.defaults.jitter: must be a number from 0 to 1'],
    ['cap below base', { defaults: { baseMs: 5000, capMs: 1000 } }, 'breakers.defaults.capMs: must be ≥ baseMs'],
    ['trials zero', { rules: { retry_spike: { trials: 0 } } }, 'breakers.rules.retry_spike.trials: must be a whole number from 1'],
    ['rules not a mapping', { rules: [] }, 'breakers.rules: must be a mapping'],
    ['unknown kind', { rules: { retry_spikes: { scope: 'agent' } } }, 'breakers.rules.retry_spikes: unknown finding kind'],
    ['rule not a mapping', { rules: { retry_spike: 'agent' } }, 'breakers.rules.retry_spike: must be a mapping'],
    ['unknown rule key', { rules: { retry_spike: { scop: 'agent' } } }, 'breakers.rules.retry_spike.scop: unknown key'],
    ['bad scope', { rules: { unmasked_pii: { scope: 'tenant' } } }, 'breakers.rules.unmasked_pii.scope: must be one of'],
    ['missing scope on a new rule', { rules: { unmasked_pii: {} } }, 'breakers.rules.unmasked_pii.scope: must be one of'],
    ['shadow not boolean', { rules: { retry_spike: { shadow: 'yes' } } }, 'breakers.rules.retry_spike.shadow: must be true or false'],
    ['quorum on agent rule', { rules: { retry_spike: { quorum: { min: 2, of: 'users' } } } }, 'breakers.rules.retry_spike.quorum: applies to vendor rules only'],
    ['quorum min', { rules: { vendor_failure_rate: { quorum: { min: 0, of: 'agents' } } } }, 'breakers.rules.vendor_failure_rate.quorum.min: must be a whole number'],
    ['quorum of', { rules: { vendor_failure_rate: { quorum: { min: 2, of: 'tenants' } } } }, 'breakers.rules.vendor_failure_rate.quorum.of: must be agents or users'],
    ['quorum not a mapping', { rules: { vendor_failure_rate: { quorum: 2 } } }, 'breakers.rules.vendor_failure_rate.quorum: must be { min'],
  ];
  for (const [name, raw, msg] of bad) {
    it(`refuses ${name}, naming the field`, () => {
      expect(() => parseBreakerPolicy(raw, at)).toThrow(BreakerPolicyError);
      expect(() => parseBreakerPolicy(raw, at)).toThrow(msg);
      expect(validateBreakerSection(raw).map((p) => `${p.field}: ${p.message}`).join('\n')).toContain(msg);
    });
  }

  it('places each problem with the at() callback', () => {
    const err = (() => { try { parseBreakerPolicy({ defaults: { jitter: -1 } }, at); } catch (e) { return e as Error; } })();
    expect(err!.message).toBe('policy.yaml (breakers.defaults.jitter): breakers.defaults.jitter: must be a number from 0 to 1, got -1');
  });
});

describe('decideTrips', () => {
  const policy = parseBreakerPolicy(undefined, at);

  it('trips the vendor for a vendor failure, carrying the why', () => {
    const d = decideTrips(finding(), policy);
    expect(d.shadow).toEqual([]);
    expect(d.trips).toEqual([{
      scope: 'vendor', id: 'acme-air',
      args: {
        findingId: 'f_1', settings: DEFAULT_SETTINGS,
        reason: { ruleId: 'vendor_failure_rate', kind: 'vendor_failure_rate', policyVersion: 'p-abc', observed: 0.6, threshold: 0.5, findingIds: ['f_1'], traceIds: ['t1'], summary: 'acme-air failed 12 of 20 calls' },
      },
    }]);
  });

  it('trips the agent for a retry spike and the user for a duplicate action', () => {
    expect(decideTrips(finding({ kind: 'retry_spike', scope: { type: 'agent', id: 'a1' } }), policy).trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['agent:a1']);
    expect(decideTrips(finding({ kind: 'duplicate_action', scope: { type: 'user', id: 'u1' } }), policy).trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['user:u1']);
  });

  it('trips nothing for kinds without a rule, for shadow rules and for shadow findings', () => {
    expect(decideTrips(finding({ kind: 'unmasked_pii', scope: { type: 'agent', id: 'a1' } }), policy)).toMatchObject({ trips: [], shadow: [] });
    const shadowPolicy = parseBreakerPolicy({ rules: { retry_spike: { shadow: true } } }, at);
    const d = decideTrips(finding({ kind: 'retry_spike', scope: { type: 'agent', id: 'a1' } }), shadowPolicy);
    expect(d.trips).toEqual([]);
    expect(d.shadow.map((t) => t.id)).toEqual(['a1']);
    expect(decideTrips(finding({ shadow: true }), policy)).toMatchObject({ trips: [], shadow: [{ scope: 'vendor', id: 'acme-air' }] });
  });

  it('opens the vendor only at quorum, and otherwise the agents that saw the failure', () => {
    const q = parseBreakerPolicy({ rules: { vendor_failure_rate: { quorum: { min: 2, of: 'agents' } } } }, at);
    const one = decideTrips(finding(), q, { agents: ['a1', 'a1'], users: ['u1', 'u2'] });
    expect(one.trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['agent:a1']);
    expect(one.note).toContain('quorum not reached (1 of 2 distinct agents)');
    const two = decideTrips(finding(), q, { agents: ['a1', 'a2'], users: [] });
    expect(two.trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['vendor:acme-air']);
    const byUsers = parseBreakerPolicy({ rules: { vendor_failure_rate: { quorum: { min: 3, of: 'users' } } } }, at);
    expect(decideTrips(finding(), byUsers, { agents: [], users: ['u1', 'u2'] }).trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['user:u1', 'user:u2']);
  });

  it('skips ids a breaker cannot have, and scopes the finding does not name', () => {
    const d = decideTrips(finding({ scope: { type: 'vendor', id: 'acme air' } }), policy);
    expect(d.trips).toEqual([]);
    expect(d.note).toContain('vendor id must be');
    const g = parseBreakerPolicy({ rules: { compensation_failed: { scope: 'global' }, orphaned_action: { scope: 'action' } } }, at);
    expect(decideTrips(finding({ kind: 'compensation_failed' }), g).trips.map((t) => `${t.scope}:${t.id}`)).toEqual(['global:all']);
    expect(decideTrips(finding({ kind: 'orphaned_action' }), g)).toMatchObject({ trips: [], note: expect.stringContaining('carries no action id') });
  });
});
