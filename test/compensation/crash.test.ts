import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advanceWatermark, duplicateBookings, readCommands, T0 } from '../fixtures/response-traffic.ts';
import { runTs, type Child } from '../helpers/child-process.ts';
import { createTopics, produceRaw } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

const MONITOR = 'test/fixtures/response-monitor.ts';
/** Kills: VIGIL_CRASH_KILLS (the full test is 20); CI runs a short version. */
const KILLS = Number(process.env.VIGIL_CRASH_KILLS ?? 2);
const PAIRS = Number(process.env.VIGIL_CRASH_PAIRS ?? (KILLS >= 10 ? 1200 : 80));
/** The relay pauses up to this long (random) between a commit and its settle, so kills land in that window too. */
const PAUSE_MS = 400;

/**
 * The crash test: the monitor is SIGKILLed at random points while compensations are in flight (the
 * relay commits a few commands per Kafka transaction, so kills land before, inside and after its
 * transactions, and between a commit and the Redis settle); after each kill a new monitor takes the
 * relay lease over and settles the dead relay's claims from the transactional checkpoint. At the end,
 * a read_committed reader sees exactly one command per finding: none twice, none missing.
 */
describe(`compensations survive ${KILLS} SIGKILLs of the monitor`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-crash-'));
  const policy = join(dir, 'policy.yaml');
  // Long time-out: no re-send muddles the count (re-sends are separate commands, attempt 2…).
  writeFileSync(policy, 'compensations:\n  timeoutMs: 3600000\n');
  const children: Child[] = [];
  afterAll(() => {
    for (const c of children) c.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts exactly one command per finding on the topic', async () => {
    const { env, config } = testConfig({
      VIGIL_POLICY: policy, SMTP_URL: '', VIGIL_LOG_LEVEL: 'error', KAFKA_SESSION_TIMEOUT_MS: '6000',
      VIGIL_COMPENSATION_LEASE_MS: '1500', VIGIL_COMPENSATION_BATCH: '4', VIGIL_NOTIFY_POLL_MS: '50',
    });
    const run = config.redis.keyPrefix;
    await createTopics(config);
    // PAIRS duplicate bookings over 40 users: one duplicate_action finding, and one saga, each.
    const events = Array.from({ length: 40 }, (_, u) => duplicateBookings(run, `u_crash_${u}`, Math.ceil(PAIRS / 40), { at: T0 + u * 1000 })).flat();
    const expected = new Set(events.filter((e) => e.eventId.endsWith('-b')).map((e) => e.eventId));
    await produceRaw(config, config.kafka.topics.actions, events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));
    await advanceWatermark(config, run, T0 + 120_000);

    const totals = { kills: 0, committedBeforeKill: 0, killedBetweenCommitAndSettle: 0, recoveredSent: 0, recoveredReleased: 0 };
    const relayOf = (c: Child) => c.lines.filter((l) => 'relay' in l).map((l) => l.relay as Record<string, number>);
    const lives: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const spawned = Date.now();
      const child = runTs(MONITOR, [String(PAUSE_MS)], env);
      children.push(child);
      await waitFor(() => child.lines.some((l) => l.ready), { timeoutMs: 60_000, description: `monitor ${k + 1} ready` }).catch((e) => {
        throw new Error(`${(e as Error).message}\n${child.stderr.join('').slice(-2000)}`);
      });
      // Until the relay has done something in this life (it first waits for the dead one's lease), then a random moment.
      const ready = Date.now();
      await waitFor(() => relayOf(child).length > 0, { timeoutMs: 10_000, intervalMs: 10, description: `relay activity in monitor ${k + 1}` }).catch(() => undefined);
      const active = Date.now();
      await new Promise((r) => setTimeout(r, Math.random() * 1500));
      child.proc.kill('SIGKILL');
      await child.exited;
      totals.kills++;
      const steps = relayOf(child);
      for (const s of steps) {
        totals.committedBeforeKill += s.committed ?? 0;
        totals.recoveredSent += s.recoveredSent ?? 0;
        totals.recoveredReleased += s.recoveredReleased ?? 0;
      }
      // Its last line says it committed and had not settled yet: killed in the window.
      if ((steps[steps.length - 1]?.committed ?? 0) > 0) totals.killedBetweenCommitAndSettle++;
      lives.push(`${ready - spawned}/${active - ready}/${Date.now() - active}`);
    }
    // A last monitor finishes the work.
    const last = runTs(MONITOR, [], env);
    children.push(last);
    const commands = await readCommands(config, expected.size, { quietMs: 5000, timeoutMs: 180_000 }).catch((e) => {
      throw new Error(`${(e as Error).message}; last monitor printed ${JSON.stringify(last.lines.slice(-5))}; stderr: ${last.stderr.join('').slice(-3000)}`);
    });
    for (const s of relayOf(last)) {
      totals.recoveredSent += s.recoveredSent ?? 0;
      totals.recoveredReleased += s.recoveredReleased ?? 0;
    }
    last.proc.kill('SIGTERM');
    const lastExit = await last.exited;

    const byEvent = new Map<string, number>();
    for (const c of commands) byEvent.set(c.forEventId, (byEvent.get(c.forEventId) ?? 0) + 1);
    const duplicated = [...byEvent].filter(([, n]) => n > 1).map(([fe]) => fe);
    const missing = [...expected].filter((fe) => !byEvent.has(fe));
    const uncommitted = await readCommands(config, commands.length, { quietMs: 3000, uncommitted: true });
    // eslint-disable-next-line no-console
    console.log(`crash test: ${totals.kills} SIGKILLs, ${expected.size} findings → ${commands.length} commands read (read_committed), ` +
      `${duplicated.length} duplicated, ${missing.length} missing; ${totals.committedBeforeKill} committed by killed monitors, ` +
      `${totals.killedBetweenCommitAndSettle} kills between a commit and its settle; ` +
      `claims of a killed relay settled from the checkpoint: ${totals.recoveredSent} found committed, ${totals.recoveredReleased} released and sent again; ` +
      `${uncommitted.length - commands.length} aborted copies in the log (invisible to read_committed); ` +
      `lives (ms to ready/to relay activity/to kill): ${lives.join(' ')}`);
    expect(lastExit, `the last monitor's exit on SIGTERM; stderr: ${last.stderr.join('').slice(-2000)}`).toBe(0);
    expect(duplicated).toEqual([]);
    expect(missing).toEqual([]);
    expect(commands).toHaveLength(expected.size);
    expect(commands.every((c) => c.attempt === 1 && c.commandId === `${c.idempotencyKey}#1`)).toBe(true);
  }, 900_000);
});
