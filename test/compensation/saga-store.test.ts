import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../processors/core/finding.ts';
import { checkCompensationPolicy } from '../../src/compensation/compensation-policy.ts';
import { planCompensation } from '../../src/compensation/plan-compensation.ts';
import { LeaseLostError, SagaStore } from '../../src/compensation/saga-store.ts';
import { connectRedis } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { runScript } from '../../src/redis/scripts.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';

const finding = (n: number, over: Partial<Finding> = {}): Finding => ({
  findingId: `f_${n.toString(16).padStart(32, '0')}`,
  kind: 'duplicate_action',
  severity: 'critical',
  scope: { type: 'user', id: `u_${n}` },
  detectedAt: '2026-11-20T10:00:00.000Z',
  eventIds: [`e-a-${n}`, `e-b-${n}`],
  ruleId: 'duplicate_action',
  policyVersion: 'p-test',
  shadow: false,
  summary: `user u_${n} booked twice`,
  target: { eventId: `e-b-${n}`, action: 'flight.book', vendor: 'acme-air' },
  ...over,
});

/**
 * The saga scripts against a real Redis, on a virtual clock: open → claim → settle against the
 * transactional checkpoint → time-outs, re-sends with backoff, escalation; outcomes paired by event.
 */
describe('sagas in Redis (openSaga, advanceSagas, settleInflight, recordOutcome)', () => {
  const redis = connectRedis({ url: stackEndpoints().redisUrl });
  const keys = new KeyBuilder(randomName('saga'));
  let now = 1_000_000;
  const sagas = new SagaStore(redis, keys, () => now);
  const { policy } = checkCompensationPolicy({ timeoutMs: 10_000, resend: { baseMs: 1000, capMs: 3000, maxAttempts: 3 } });
  const token = 'relay-a';
  const lease = () => runScript<number>(redis, 'acquireLease', [keys.compensationRelayLease()], [token, 60_000]);
  afterAll(async () => {
    const all = await redis.keys(`${keys.prefix}:*`);
    if (all.length) await redis.del(...all);
    redis.disconnect();
  });

  it('plans by the policy: the later duplicate, refunds for payments, nothing for shadow findings or kinds without a rule', () => {
    const p = (f: Finding) => planCompensation(f, policy);
    expect(p(finding(1)).plan).toMatchObject({ forEventId: 'e-b-1', kind: 'cancel', idempotencyKey: 'cmp_' + '1'.padStart(32, '0'), vendor: 'acme-air', shadow: false });
    expect(p(finding(2, { target: { eventId: 'x', action: 'payment.send', vendor: 'bank' } })).plan?.kind).toBe('refund');
    expect(p(finding(3, { shadow: true })).why).toMatch(/shadow/);
    expect(p(finding(4, { kind: 'retry_spike' })).why).toMatch(/no compensation rule/);
    expect(p(finding(5, { target: undefined })).why).toMatch(/names no action/);
  });

  it('runs one saga per event through claim, commit checkpoint, time-outs with backoff, and escalation', async () => {
    await lease();
    const plan = planCompensation(finding(10), policy).plan!;
    expect(await sagas.open(plan)).toBe(true);
    // the same action found again (a redelivery, another instance, another finding): no second saga
    expect(await sagas.open(plan)).toBe(false);
    expect(await sagas.open(planCompensation(finding(11, { target: plan && { eventId: 'e-b-10', action: 'flight.book', vendor: 'acme-air' } }), policy).plan!)).toBe(false);
    expect((await sagas.get('e-b-10'))!.alsoFindingIds).toEqual([finding(11).findingId]);

    const first = await sagas.advance(token, await sagas.due(10), policy, 10);
    expect(first).toHaveLength(1);
    expect(first![0]).toMatchObject({ what: 'send', attempt: 1, findingId: finding(10).findingId });
    const seq = (first![0] as { seq: number }).seq;
    // nothing new is claimed while a claim is unsettled
    expect(await sagas.advance(token, ['e-b-10'], policy, 10)).toBeUndefined();
    expect(await sagas.settle(token, ['e-b-10'], seq, policy.timeoutMs)).toEqual([{ forEventId: 'e-b-10', what: 'sent', attempt: 1 }]);
    expect(await sagas.due(10)).toEqual([]);

    now += 10_000; // attempt 1 times out: re-send after baseMs
    expect(await sagas.advance(token, await sagas.due(10), policy, 10)).toEqual([{ forEventId: 'e-b-10', what: 'resend', attempt: 1, dueAt: now + 1000 }]);
    now += 1000;
    const second = await sagas.advance(token, await sagas.due(10), policy, 10);
    expect(second![0]).toMatchObject({ what: 'send', attempt: 2 });
    // the checkpoint says the transaction did not commit: released, and claimed again with a higher number
    expect(await sagas.settle(token, ['e-b-10'], seq, policy.timeoutMs)).toEqual([{ forEventId: 'e-b-10', what: 'released', attempt: 2 }]);
    const again = await sagas.advance(token, await sagas.due(10), policy, 10);
    expect(again![0]).toMatchObject({ what: 'send', attempt: 2 });
    expect((again![0] as { seq: number }).seq).toBeGreaterThan((second![0] as { seq: number }).seq);
    await sagas.settle(token, ['e-b-10'], (again![0] as { seq: number }).seq, policy.timeoutMs);

    now += 10_000; // attempt 2 times out: backoff doubles (2000)
    expect(await sagas.advance(token, await sagas.due(10), policy, 10)).toEqual([{ forEventId: 'e-b-10', what: 'resend', attempt: 2, dueAt: now + 2000 }]);
    now += 2000;
    const third = await sagas.advance(token, await sagas.due(10), policy, 10);
    await sagas.settle(token, ['e-b-10'], (third![0] as { seq: number }).seq, policy.timeoutMs);
    now += 10_000; // the last attempt times out: timed_out, queued for escalation once
    expect(await sagas.advance(token, await sagas.due(10), policy, 10)).toEqual([{ forEventId: 'e-b-10', what: 'timed_out', attempt: 3 }]);
    expect(await sagas.escalations(10)).toEqual(['e-b-10']);
    expect((await sagas.get('e-b-10'))).toMatchObject({ state: 'timed_out', attempts: 3, timeouts: 3 });
    // a late success still counts
    const late = await sagas.recordOutcome({ forEventId: 'e-b-10', outcome: 'succeeded', eventId: 'c-ok', ts: now });
    expect(late).toMatchObject({ result: 'succeeded', previous: 'timed_out', compensationKind: 'cancel', vendor: 'acme-air' });
  });

  it('pairs outcomes by forEventId, once each, and ignores compensations it never asked for', async () => {
    await lease();
    const plan = planCompensation(finding(20), policy).plan!;
    await sagas.open(plan);
    const step = await sagas.advance(token, await sagas.due(10), policy, 10);
    await sagas.settle(token, ['e-b-20'], (step![0] as { seq: number }).seq, policy.timeoutMs);
    expect((await sagas.recordOutcome({ forEventId: 'e-b-20', outcome: 'requested', eventId: 'c1', ts: 5 })).result).toBe('acknowledged');
    expect((await sagas.recordOutcome({ forEventId: 'e-b-20', outcome: 'requested', eventId: 'c1', ts: 5 })).result).toBe('duplicate');
    const ok = await sagas.recordOutcome({ forEventId: 'e-b-20', outcome: 'succeeded', eventId: 'c2', ts: Date.parse(plan.detectedAt) + 42_000 });
    expect(ok).toMatchObject({ result: 'succeeded', previous: 'requested', detectedAt: Date.parse(plan.detectedAt) });
    expect((await sagas.recordOutcome({ forEventId: 'e-b-20', outcome: 'succeeded', eventId: 'c2', ts: 0 })).result).toBe('duplicate');
    expect((await sagas.recordOutcome({ forEventId: 'e-b-20', outcome: 'failed', eventId: 'c3', ts: 0 })).result).toBe('ignored');
    expect((await sagas.recordOutcome({ forEventId: 'nobody', outcome: 'succeeded', eventId: 'c4', ts: 0 })).result).toBe('unknown');
    expect(await sagas.due(10)).not.toContain('e-b-20');
  });

  it('refuses every relay change from an instance without the lease', async () => {
    await sagas.open(planCompensation(finding(30), policy).plan!);
    await expect(sagas.advance('relay-b', ['e-b-30'], policy, 10)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(sagas.settle('relay-b', ['e-b-30'], 1_000_000, policy.timeoutMs)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await runScript(redis, 'acquireLease', [keys.compensationRelayLease()], ['relay-b', 1000])).toBe(0);
    expect(await runScript(redis, 'releaseLease', [keys.compensationRelayLease()], ['relay-b'])).toBe(0);
    expect(await runScript(redis, 'releaseLease', [keys.compensationRelayLease()], [token])).toBe(1);
    expect(await runScript(redis, 'acquireLease', [keys.compensationRelayLease()], ['relay-b', 1000])).toBe(2);
  });
});
