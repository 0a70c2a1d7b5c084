import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_TIME_BOUNDS } from '../../processors/engine/event-time-guard.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { checkBreakerPolicy, validateBreakerSection } from '../../src/breakers/breaker-policy.ts';
import { renderDefaultPolicy } from '../../src/policy/default-policy.ts';
import { loadPolicyFile, parsePolicy, policyVersionOf } from '../../src/policy/load-policy.ts';
import { PolicyError } from '../../src/policy/policy-error.ts';
import { PolicyHolder } from '../../src/policy/policy-holder.ts';
import { TEST_DETECTORS } from './fixtures/test-detectors.ts';

const opts = { detectors: TEST_DETECTORS };
const refused = (text: string, o: Parameters<typeof parsePolicy>[2] = opts): string => {
  try {
    parsePolicy(text, 'vigil.policy.yaml', o);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    expect((e as PolicyError).retriable).toBe(false);
    return (e as Error).message;
  }
  throw new Error('policy was accepted');
};

const GOOD = `latenessMs: 2000
detectors:
  retry_spike:
    mode: shadow
    severity: critical
    params:
      maxRetries: 10
  orphaned_action:
    params: { timeoutMs: 1000 }
overrides:
  - name: stricter for free
    match: { plan: free }
    detectors:
      retry_spike: { params: { maxRetries: 5 } }
breakers:
  anything: [goes, until, validated]
`;

describe('policy file', () => {
  it('compiles a valid file into rules with a content-derived version', () => {
    const p = parsePolicy(GOOD, 'vigil.policy.yaml', opts);
    expect(p.version).toBe(policyVersionOf(GOOD));
    expect(p.version).toMatch(/^p-[0-9a-f]{12}$/);
    expect(parsePolicy(GOOD, 'other.yaml', opts).version).toBe(p.version);
    expect(parsePolicy(GOOD + '\n# changed\n', 'x', opts).version).not.toBe(p.version);
    expect(p.rules.latenessMs).toBe(2000);
    const [retry, orphan] = p.rules.rulesFor('free\u0001\u0001');
    expect(retry).toMatchObject({ mode: 'shadow', severity: 'critical', params: { maxRetries: 5, windowMs: 60000 } });
    expect(orphan).toMatchObject({ mode: 'enabled', params: { timeoutMs: 1000 } });
    expect(p.rules.rulesFor('paid\u0001\u0001')[0]!.params.maxRetries).toBe(10);
    expect(p.sections.breakers).toEqual({ anything: ['goes', 'until', 'validated'] });
  });

  it('reads the event-time bounds, the defaults filling what is not given', () => {
    expect(parsePolicy('', 'x', opts).rules.eventTime).toEqual(DEFAULT_EVENT_TIME_BOUNDS);
    expect(parsePolicy('eventTime:\n  maxFutureSkewMs: 60000\n  jumpQuorum: 3\n', 'x', opts).rules.eventTime).toEqual({ ...DEFAULT_EVENT_TIME_BOUNDS, maxFutureSkewMs: 60000, jumpQuorum: 3 });
  });

  it('an empty file means every detector at its defaults', () => {
    const p = parsePolicy('', 'x', opts);
    expect(p.rules.latenessMs).toBe(5000);
    expect(p.rules.rulesFor('')[0]!.params).toEqual({ maxRetries: 3, windowMs: 60000 });
  });

  it.each([
    ['bad YAML', 'detectors:\n  retry_spike: {mode: [\n', /^vigil\.policy\.yaml:\d+: invalid YAML/],
    ['duplicate key', 'latenessMs: 1\nlatenessMs: 2\n', /vigil\.policy\.yaml:2: invalid YAML: .*[Uu]nique/],
    ['not a mapping', '- a\n- b\n', /vigil\.policy\.yaml:1: must be a mapping/],
    ['unknown top-level key', 'latenessMS: 5000\n', /^vigil\.policy\.yaml:1: latenessMS: unknown key/],
    ['unknown detector', 'detectors:\n  retry_spik:\n    mode: enabled\n', /^vigil\.policy\.yaml:2: detectors\.retry_spik: unknown detector/],
    ['unknown rule key', 'detectors:\n  retry_spike:\n    mod: enabled\n', /^vigil\.policy\.yaml:3: detectors\.retry_spike\.mod: unknown key/],
    ['unknown param', 'detectors:\n  retry_spike:\n    params:\n      maxRetry: 3\n', /^vigil\.policy\.yaml:4: detectors\.retry_spike\.params\.maxRetry: unknown parameter of retry_spike \(known: maxRetries, windowMs\)/],
    ['wrong type', 'detectors:\n  retry_spike:\n    params:\n      maxRetries: lots\n', /^vigil\.policy\.yaml:4: detectors\.retry_spike\.params\.maxRetries: must be a number ≥ 1, got "lots"$/],
    ['count below 1', 'detectors:\n  retry_spike:\n    params:\n      maxRetries: 0\n', /maxRetries: must be a number ≥ 1, got 0/],
    ['negative window', 'detectors:\n  retry_spike:\n    params:\n      windowMs: -5\n', /^vigil\.policy\.yaml:4: detectors\.retry_spike\.params\.windowMs: must be a duration in ms > 0, got -5/],
    ['bad mode', 'detectors:\n  retry_spike:\n    mode: on\n', /^vigil\.policy\.yaml:3: detectors\.retry_spike\.mode: must be one of enabled, disabled, shadow, got "on"/],
    ['bad severity', 'detectors:\n  retry_spike:\n    severity: high\n', /detectors\.retry_spike\.severity: must be one of info, warning, critical, got "high"/],
    ['bad lateness', 'latenessMs: -1\n', /^vigil\.policy\.yaml:1: latenessMs: must be a whole number of ms ≥ 0, got -1/],
    ['eventTime not a mapping', 'eventTime: 5\n', /^vigil\.policy\.yaml:1: eventTime: must be a mapping with maxFutureSkewMs, maxPastMs, jumpQuorum/],
    ['unknown eventTime key', 'eventTime:\n  maxSkewMs: 1000\n', /^vigil\.policy\.yaml:2: eventTime\.maxSkewMs: unknown key \(expected one of maxFutureSkewMs, maxPastMs, jumpQuorum\)/],
    ['eventTime skew too small', 'eventTime:\n  maxFutureSkewMs: 10\n', /^vigil\.policy\.yaml:2: eventTime\.maxFutureSkewMs: must be a whole number of ms from 1000 to \d+, got 10/],
    ['eventTime past not a number', 'eventTime:\n  maxPastMs: 1d\n', /^vigil\.policy\.yaml:2: eventTime\.maxPastMs: must be a whole number of ms from 1000 to \d+, got "1d"/],
    ['eventTime quorum zero', 'eventTime:\n  jumpQuorum: 0\n', /^vigil\.policy\.yaml:2: eventTime\.jumpQuorum: must be a whole number of events from 1 to 1000, got 0/],
    ['detectors not a mapping', 'detectors: [retry_spike]\n', /^vigil\.policy\.yaml:1: detectors: must be a mapping/],
    ['params not a mapping', 'detectors:\n  retry_spike:\n    params: 3\n', /detectors\.retry_spike\.params: must be a mapping/],
    ['overrides not a list', 'overrides: {plan: free}\n', /^vigil\.policy\.yaml:1: overrides: must be a list/],
    ['override without match', 'overrides:\n  - detectors: {}\n', /^vigil\.policy\.yaml:2: overrides\[0\]\.match: is required/],
    ['bad override match field', 'overrides:\n  - match: { tenant: t1 }\n    detectors: {}\n', /^vigil\.policy\.yaml:2: overrides\[0\]\.match\.tenant: unknown match field/],
    ['empty override match', 'overrides:\n  - match: {}\n', /overrides\[0\]\.match: must be a mapping with one or more of env, plan, agent, vendor/],
    ['non-string match value', 'overrides:\n  - match: { plan: [free] }\n', /overrides\[0\]\.match\.plan: must be a non-empty string, got \["free"\]/],
    ['unknown override key', 'overrides:\n  - match: { plan: free }\n    detector: {}\n', /^vigil\.policy\.yaml:3: overrides\[0\]\.detector: unknown key/],
    ['bad param inside override', 'overrides:\n  - match: { plan: free }\n    detectors:\n      orphaned_action:\n        params: { timeoutMs: "5m" }\n', /^vigil\.policy\.yaml:5: overrides\[0\]\.detectors\.orphaned_action\.params\.timeoutMs: must be a duration in ms > 0, got "5m"/],
  ])('refuses %s with file, line and field', (_name, text, expected) => {
    expect(refused(text)).toMatch(expected);
  });

  it('reports every problem, not just the first', () => {
    const msg = refused('latenessMs: x\ndetectors:\n  nope: {}\n  retry_spike: { mode: off }\n');
    expect(msg.split('\n')).toHaveLength(3);
  });

  it('checks params by type: ratios, booleans and strings', () => {
    const det = { ...TEST_DETECTORS[0]!, defaults: { minShare: 0.4, strict: true, label: 'x' } };
    const o = { detectors: [det] };
    expect(refused('detectors:\n  retry_spike:\n    params: { minShare: 1.5 }\n', o)).toMatch(/minShare: must be a number from 0 to 1, got 1.5/);
    expect(refused('detectors:\n  retry_spike:\n    params: { strict: "yes" }\n', o)).toMatch(/strict: must be true or false, got "yes"/);
    expect(refused('detectors:\n  retry_spike:\n    params: { label: 3 }\n', o)).toMatch(/label: must be a string, got 3/);
    expect(parsePolicy('detectors:\n  retry_spike:\n    params: { minShare: 0.5, strict: false, label: y }\n', 'x', o).rules.rulesFor('')[0]!.params).toEqual({ minShare: 0.5, strict: false, label: 'y' });
  });

  it('runs a section validator on breakers with the line of the offending field', () => {
    const breakers = (v: unknown) => ((v as { vendor?: { threshold?: unknown } })?.vendor?.threshold === 'x' ? [{ field: 'breakers.vendor.threshold', message: 'must be a number' }] : []);
    const text = 'latenessMs: 1\nbreakers:\n  vendor:\n    threshold: x\n';
    expect(refused(text, { ...opts, sectionValidators: { breakers } })).toBe('vigil.policy.yaml:4: breakers.vendor.threshold: must be a number');
  });

  it('env-matched overrides apply only in their environment', () => {
    const text = 'overrides:\n  - match: { env: prod }\n    detectors:\n      retry_spike: { mode: disabled }\n';
    expect(parsePolicy(text, 'x', { ...opts, env: 'prod' }).rules.rulesFor('')[0]).toBeUndefined();
    expect(parsePolicy(text, 'x', { ...opts, env: 'staging' }).rules.rulesFor('')[0]).toBeDefined();
  });

  it('names an unreadable file', () => {
    expect(() => loadPolicyFile('/nonexistent/vigil.policy.yaml', opts)).toThrow(/^\/nonexistent\/vigil\.policy\.yaml: cannot be read/);
  });
});

describe('the shipped vigil.policy.yaml', () => {
  it('is valid and equals every detector at its defaults', () => {
    const p = loadPolicyFile('vigil.policy.yaml', { detectors: ALL_DETECTORS });
    const defaults = parsePolicy('', 'x', { detectors: ALL_DETECTORS });
    expect(p.rules.latenessMs).toBe(5000);
    expect(p.rules.rulesFor('')).toEqual(defaults.rules.rulesFor('').map((r, i) => (r ? { ...r, severity: ALL_DETECTORS[i]!.severity } : r)));
    // When this fails after a detector changed: `node src/policy/default-policy.ts` rewrites the file.
    expect(readFileSync('vigil.policy.yaml', 'utf8'), 'vigil.policy.yaml is stale: run node src/policy/default-policy.ts').toBe(renderDefaultPolicy(ALL_DETECTORS));
  });

  it('states the breakers module\'s defaults in a section its validator accepts', () => {
    const p = loadPolicyFile('vigil.policy.yaml', { detectors: ALL_DETECTORS, sectionValidators: { breakers: validateBreakerSection } });
    expect(checkBreakerPolicy(p.sections.breakers)).toEqual(checkBreakerPolicy({}));
    expect(checkBreakerPolicy(p.sections.breakers).problems).toEqual([]);
  });

  it('the rendered default policy is valid for the test detectors too', () => {
    const p = parsePolicy(renderDefaultPolicy(TEST_DETECTORS), 'x', opts);
    expect(p.rules.rulesFor('')[0]!.params).toEqual({ maxRetries: 3, windowMs: 60000 });
  });
});

describe('PolicyHolder', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reloads a valid file, refuses an invalid one and keeps the running policy', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-policy-'));
    const path = join(dir, 'vigil.policy.yaml');
    writeFileSync(path, 'latenessMs: 1000\n');
    const holder = new PolicyHolder(path, opts);
    const changes: string[] = [];
    const rejects: string[] = [];
    holder.onChange((next, prev) => changes.push(`${prev.rules.latenessMs}->${next.rules.latenessMs}`));
    holder.onReject((e) => rejects.push(e.message));
    expect(holder.reload()).toBe(false); // same content, same version
    writeFileSync(path, 'latenessMs: 2000\n');
    expect(holder.reload()).toBe(true);
    writeFileSync(path, 'latenessMs: soon\n');
    expect(() => holder.reload()).toThrow(PolicyError);
    expect(holder.current().rules.latenessMs).toBe(2000);
    expect(changes).toEqual(['1000->2000']);
    expect(rejects).toEqual([`${path}:1: latenessMs: must be a whole number of ms ≥ 0, got "soon"`]);

    holder.watch();
    const changed = new Promise<void>((resolve) => holder.onChange(() => resolve()));
    writeFileSync(path, 'latenessMs: 3000\n');
    await changed;
    expect(holder.current().rules.latenessMs).toBe(3000);
    // replaced the way editors do it: a new file renamed over the old one
    const renamed = new Promise<void>((resolve) => holder.onChange(() => resolve()));
    writeFileSync(`${path}.tmp`, 'latenessMs: 3500\n');
    renameSync(`${path}.tmp`, path);
    await renamed;
    expect(holder.current().rules.latenessMs).toBe(3500);
    const hup = new Promise<void>((resolve) => holder.onChange(() => resolve()));
    holder.close();
    holder.watch();
    writeFileSync(path, 'latenessMs: 4000\n');
    process.emit('SIGHUP', 'SIGHUP');
    await hup;
    expect(holder.current().rules.latenessMs).toBe(4000);
    holder.close();
  });

  it('refuses an invalid file at start', () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-policy-'));
    const path = join(dir, 'p.yaml');
    writeFileSync(path, 'detectors:\n  nope: {}\n');
    expect(() => new PolicyHolder(path, opts)).toThrow(`${path}:2: detectors.nope: unknown detector`);
  });
});
