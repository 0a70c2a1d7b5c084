import { AssignerProtocol } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import type { Finding } from '../../processors/core/finding.ts';
import { validateEvent } from '../../processors/core/validate-event.ts';
import { ReplayEngine } from '../../processors/engine/replay-engine.ts';
import { ALL_DETECTORS } from '../../processors/registry.ts';
import { distinctEvents } from '../../bench/gen-events.ts';
import { readFindings } from '../../src/cli/read-findings.ts';
import { defaultPolicy } from '../../src/policy/load-policy.ts';
import { runTs, type Child } from '../helpers/child-process.ts';
import { createTopics, produceRaw, settledTopicSize, testKafka } from '../helpers/kafka-helpers.ts';
import { testConfig } from '../helpers/test-config.ts';
import { waitFor } from '../helpers/wait.ts';

const MONITOR = 'test/fixtures/response-monitor.ts';
/** Events of generated traffic (VIGIL_KILL_EVENTS for a longer run). */
const EVENTS = Number(process.env.VIGIL_KILL_EVENTS ?? 8_000);
const ROUNDS = 10;

/**
 * Two `vigil run` instances in one consumer group share the three partitions of the input; one is
 * SIGKILLed mid-stream (its state in memory, a batch perhaps half saved) while the other owns the
 * other partitions and then takes the dead one's over. Afterwards the findings on `safety.findings`
 * are exactly `vigil replay`'s on the same events: the same ids, none missing, none twice.
 */
describe('an instance SIGKILLed mid-stream while a second one owns the other partitions', () => {
  const { env, config } = testConfig({ KAFKA_SESSION_TIMEOUT_MS: '6000', SMTP_URL: '', VIGIL_LOG_LEVEL: process.env.VIGIL_KILL_LOG ?? 'error' });
  const children: Child[] = [];
  afterAll(() => {
    for (const c of children) c.proc.kill('SIGKILL');
  });

  it('leaves the findings of vigil replay, ids included, each published once', async () => {
    try {
      await killMidStream();
    } catch (e) {
      // what the instances said (the run's log level: VIGIL_KILL_LOG=warn shows retried batches)
      for (const [name, c] of Object.entries({ killed: children[0], survivor: children[1] })) console.log(`${name} instance stderr:\n${c?.stderr.join('').slice(-4000)}`);
      throw e;
    }
  }, 300_000);

  async function killMidStream(): Promise<void> {
    // Generated traffic with anomalies of every kind, in event-time order, deduped as ingest would …
    const events = distinctEvents({ events: EVENTS, seed: 31, hours: 1 });
    events.sort((a, b) => a.ts - b.ts);
    // … then a quiet ramp on every partition, 4 minutes apart (inside the future bound), two hours past
    // the end, so every decision of the traffic is settled live as in replay.
    const end = events.at(-1)!.ts;
    const tail: { partition: number; e: ValidEvent }[] = [];
    for (let step = 1; step <= 30; step++) {
      for (let p = 0; p < config.kafka.partitions; p++) {
        const at = end + step * 240_000;
        const e = validateEvent({
          eventId: `tail-${step}-${p}`, type: 'intent.parsed', occurredAt: new Date(at).toISOString(), userId: `u_tail_${p}`,
          agentId: 'trip-planner', agentVersion: '2.3.1', intentId: `tail-${step}-${p}`,
          action: { name: 'flight.search', vendor: 'other-air', riskTier: 'low', stateChanging: false },
        });
        tail.push({ partition: p, e });
      }
    }
    const policy = defaultPolicy({ detectors: ALL_DETECTORS });
    const expected: Finding[] = [];
    const engine = new ReplayEngine({ detectors: ALL_DETECTORS, rules: policy.rules, onFinding: (f) => expected.push(f) });
    for (const e of events) engine.push(e);
    for (const { e } of tail) engine.push(e);
    expect(expected.length).toBeGreaterThan(5);

    await createTopics(config);
    // One after the other: two first starts at once race to register the schemas of a new deployment
    // in the registry (one of them fails: "a rule named COMPATIBILITY already exists").
    const a = runTs(MONITOR, [], env);
    children.push(a);
    await waitFor(() => a.lines.some((l) => l.ready), { timeoutMs: 90_000, description: 'the first instance started' });
    const b = runTs(MONITOR, [], env);
    children.push(b);
    await waitFor(() => b.lines.some((l) => l.ready), { timeoutMs: 90_000, description: 'the second instance started' });
    // both in the group before the traffic starts: each owns partitions of its own
    await new Promise((r) => setTimeout(r, 3_000));

    const admin = testKafka(config).admin();
    await admin.connect();
    const perPartition = async () => (await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [config.kafka.topics.actions] }))[0]!.partitions.map((p) => Math.max(0, Number(p.offset)));
    const committed = async () => (await perPartition()).reduce((n, o) => n + o, 0);
    try {
      const per = Math.ceil(events.length / ROUNDS);
      let killedAt = -1;
      for (let r = 0; r < ROUNDS; r++) {
        const round = events.slice(r * per, (r + 1) * per);
        await produceRaw(config, config.kafka.topics.actions, round.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));
        if (r === 3) {
          // mid-stream: once some batches are committed, at a random moment of the next ones
          // every partition has committed batches (so the instance to kill has run its own), and the two
          // instances each own some of them
          await waitFor(async () => (await perPartition()).every((o) => o > 0), { timeoutMs: 60_000, description: 'batches committed on every partition' });
          const [group] = (await admin.describeGroups([config.kafka.groupId])).groups;
          const owned = group!.members.map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[config.kafka.topics.actions]?.length ?? 0);
          expect(owned.length).toBe(2);
          expect(owned.every((n) => n > 0)).toBe(true);
          await new Promise((res) => setTimeout(res, Math.random() * 300));
          killedAt = await committed();
          a.proc.kill('SIGKILL');
          await a.exited;
        } else {
          await new Promise((res) => setTimeout(res, 150));
        }
      }
      expect(killedAt).toBeLessThan(events.length); // it died mid-stream
      const producer = testKafka(config).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      try {
        await producer.send({ topic: config.kafka.topics.actions, acks: -1, messages: tail.map(({ partition, e }) => ({ partition, key: e.userId, value: JSON.stringify(e) })) });
      } finally {
        await producer.disconnect();
      }
      const total = events.length + tail.length;
      // the survivor takes the dead instance's partitions over once its session times out, and ends the stream
      await waitFor(async () => (await committed()) >= total, { timeoutMs: 120_000, description: 'every event committed by the survivor', intervalMs: 500 });
    } finally {
      await admin.disconnect();
    }

    const onTopic = await settledTopicSize(config, config.kafka.topics.findings, 5_000);
    const got = onTopic > 0 ? await readFindings(config, onTopic, 60_000) : [];
    if (got.length !== expected.length) {
      const have = new Set(got.map((f) => f.findingId));
      console.log('findings differ from replay:', JSON.stringify({ missing: expected.filter((f) => !have.has(f.findingId)).map((f) => [f.kind, f.detectedAt, f.scope, f.eventIds]), end: new Date(end).toISOString(), bErr: b.stderr.join('').slice(-3000), aErr: a.stderr.join('').slice(-2000) }));
    }
    const ids = (fs: readonly Finding[]) => fs.map((f) => `${f.findingId} ${f.kind} ${f.detectedAt}`).sort();
    expect(ids(got)).toEqual(ids(expected));
    const byId = (fs: readonly Finding[]) => [...fs].sort((x, y) => x.findingId.localeCompare(y.findingId)).map((f) => ({ ...f, traceIds: f.traceIds ?? undefined }));
    expect(byId(got).map((f) => f.eventIds)).toEqual(byId(expected).map((f) => f.eventIds));
    // each finding on the topic once: the killed instance's and the survivor's publishes do not repeat one
    expect(onTopic).toBe(expected.length);
  }
});
