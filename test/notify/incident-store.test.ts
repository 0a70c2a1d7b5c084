import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { IncidentStore } from '../../src/notify/incident-store.ts';
import { checkNotificationPolicy, routeGroups } from '../../src/notify/notification-policy.ts';
import { connectRedis } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';

const finding = (n: number, over: Partial<Finding> = {}): Finding => ({
  findingId: `f_inc_${n}`,
  kind: 'retry_spike',
  severity: 'warning',
  scope: { type: 'agent', id: 'travel-assistant' },
  detectedAt: new Date(Date.UTC(2026, 10, 20, 10, 0, n)).toISOString(),
  eventIds: [`e-${n}`],
  ruleId: 'retry_spike',
  policyVersion: 'p-test',
  shadow: false,
  summary: `agent travel-assistant retried ${n} times`,
  ...over,
});

/** Jobs in the outbox: `<ch> <type>[ <n>]`. */
async function jobs(redis: ReturnType<typeof connectRedis>, keys: KeyBuilder): Promise<string[]> {
  const entries = (await redis.xrange(keys.notifyOutbox(), '-', '+')) as [string, string[]][];
  return entries.map(([, f]) => {
    const m = Object.fromEntries(f.flatMap((x, i) => (i % 2 === 0 ? [[x, f[i + 1]]] : [])));
    return `${m.ch} ${m.type}${m.n !== '0' ? ` ${m.n}` : ''}`;
  });
}

/**
 * Incidents in Redis on a virtual clock: grouping of findings into one window, the group wait, the
 * reminder, Alertmanager re-pushes, resolution by quiet time and by breakers closing, a new window.
 */
describe('incidents in Redis (noteFinding, tickIncident)', () => {
  const redis = connectRedis({ url: stackEndpoints().redisUrl });
  let now = 5_000_000;
  const { policy } = checkNotificationPolicy({ groupWaitMs: 2000, reminderMs: 60_000, resolveQuietMs: 120_000, alertRepushMs: 30_000 });
  const both = { email: true, alertmanager: true };
  afterAll(() => redis.disconnect());

  it('groups 50 findings of one incident into one window: one e-mail after the group wait, one alert at once', async () => {
    const keys = new KeyBuilder(randomName('inc'));
    const store = new IncidentStore(redis, keys, () => now);
    const results = [];
    for (let i = 0; i < 50; i++) results.push((await store.note(finding(i), [], undefined, policy, both)).result);
    expect(results[0]).toBe('opened');
    expect(results.slice(1).every((r) => r === 'grouped')).toBe(true);
    expect((await store.note(finding(7), [], undefined, policy, both)).result).toBe('duplicate');
    const id = (await store.open())[0]!;
    expect(await jobs(redis, keys)).toEqual(['alertmanager firing']);
    expect(await store.due(10)).toEqual([]); // the group wait is not over
    now += 2000;
    expect((await store.tick(id, undefined, policy, both)).result).toBe('notified');
    expect(await jobs(redis, keys)).toEqual(['alertmanager firing', 'email opened']);
    expect((await store.tick(id, undefined, policy, both)).result).toBe('waiting'); // a second instance's tick finds nothing due
    const v = (await store.view(id))!;
    expect(v).toMatchObject({ state: 'open', window: 1, findingCount: 50, mailedCount: 50, kind: 'retry_spike' });
    expect(v.findingIds).toHaveLength(20);
    expect(v.first?.findingId).toBe('f_inc_0');
    expect(v.latest?.findingId).toBe('f_inc_49');

    now += 30_000; // the alert is pushed again while open
    await store.tick(id, undefined, policy, both);
    now += 30_000; // a reminder
    await store.note(finding(60), [], undefined, policy, both);
    await store.tick(id, undefined, policy, both);
    expect((await jobs(redis, keys)).slice(2)).toEqual(['alertmanager firing', 'email reminder 1', 'alertmanager firing']);
    expect((await store.view(id))!.findingCount).toBe(51);

    now += 120_000; // no finding for the quiet time, no breaker: resolved
    expect(await store.tick(id, undefined, policy, both)).toMatchObject({ result: 'resolved', why: 'quiet' });
    expect((await jobs(redis, keys)).slice(-2)).toEqual(['email resolved', 'alertmanager resolved']);
    expect(await store.open()).toEqual([]);
    // a finding of the resolved window, redelivered, opens nothing; a new one opens window 2
    expect((await store.note(finding(3), [], undefined, policy, both)).result).toBe('duplicate');
    expect(await store.note(finding(100), [], undefined, policy, both)).toMatchObject({ result: 'opened', window: 2 });
  });

  it('keeps an incident with breakers open until they all closed, whatever the quiet time', async () => {
    const keys = new KeyBuilder(randomName('inc'));
    const store = new IncidentStore(redis, keys, () => now);
    const f = finding(1, { kind: 'duplicate_action', scope: { type: 'user', id: 'u_1' }, severity: 'critical' });
    const { incidentId } = await store.note(f, ['user:u_1'], 'e-1', policy, { email: true, alertmanager: false });
    expect(await store.breakersOf(incidentId)).toEqual(['user:u_1']);
    now += 500_000;
    expect((await store.tick(incidentId, false, policy, { email: true, alertmanager: false })).result).toBe('notified');
    expect((await store.tick(incidentId, true, policy, { email: true, alertmanager: false })).result).toBe('resolved');
    expect(await jobs(redis, keys)).toEqual(['email opened', 'email resolved']);
    const v = (await store.view(incidentId))!;
    expect(v).toMatchObject({ state: 'resolved', resolvedWhy: 'breaker_closed', sagaIds: ['e-1'] });
  });

  it('routes by severity, kind and scope to configured groups, oncall when nothing matches', () => {
    const { policy: p, problems } = checkNotificationPolicy({
      routes: [{ match: { severity: 'critical' }, to: ['oncall', 'pager'] }, { match: { kind: ['compensation_failed'], scope: 'vendor', scopeId: 'acme-air' }, to: 'payments' }],
    }, ['oncall', 'pager', 'payments']);
    expect(problems).toEqual([]);
    expect(routeGroups(p, { kind: 'retry_spike', severity: 'warning', scopeType: 'agent', scopeId: 'a' })).toEqual(['oncall']);
    expect(routeGroups(p, { kind: 'duplicate_action', severity: 'critical', scopeType: 'user', scopeId: 'u' })).toEqual(['oncall', 'pager']);
    expect(routeGroups(p, { kind: 'compensation_failed', severity: 'critical', scopeType: 'vendor', scopeId: 'acme-air' })).toEqual(['oncall', 'pager', 'payments']);
  });
});
