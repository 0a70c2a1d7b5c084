import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { makeEvents } from '../fixtures/make-events.ts';
import { testConfig } from '../helpers/test-config.ts';
import { createTopics, produceRaw } from '../helpers/kafka-helpers.ts';
import { runTs, type Child } from '../helpers/child-process.ts';
import { waitFor } from '../helpers/wait.ts';

const MONITOR = 'test/fixtures/recording-monitor.ts';

describe('a monitor killed with SIGKILL mid-stream', () => {
  // A short session timeout: the killed member leaves the group sooner.
  const { env, config } = testConfig({ KAFKA_SESSION_TIMEOUT_MS: '8000' });
  const redis = new Redis(config.redis.url);
  const list = `${config.redis.keyPrefix}:test:handed`;
  const children: Child[] = [];
  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    redis.disconnect();
  });

  it('hands every event on exactly once after a restart, and SIGTERM then stops it cleanly', async () => {
    const events = makeEvents(20_000);
    await createTopics(config);
    await produceRaw(config, config.kafka.topics.actions, events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })));

    // 20 ms per batch keeps the first run mid-stream long enough to be killed there.
    const first = runTs(MONITOR, ['20'], env);
    children.push(first);
    await waitFor(async () => (await redis.llen(list)) >= 2_000, { timeoutMs: 60_000, description: 'the first monitor to hand on 2,000 events', intervalMs: 20 });
    first.proc.kill('SIGKILL');
    await first.exited;
    const handedBeforeKill = await redis.llen(list);
    expect(handedBeforeKill).toBeLessThan(events.length); // it really died mid-stream

    const second = runTs(MONITOR, [], env);
    children.push(second);
    await waitFor(async () => (await redis.llen(list)) >= events.length, { timeoutMs: 90_000, description: 'all events handed on after the restart' });
    // Let the consumer settle: any redelivered batch would show up as extra entries.
    await new Promise((r) => setTimeout(r, 2_000));

    const handed = await redis.lrange(list, 0, -1);
    const counts = new Map<string, number>();
    for (const id of handed) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).toBe(events.length);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(handed.length).toBe(events.length);

    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const stopped = second.lines.find((l) => 'stopped' in l);
    expect(stopped?.stopped).toBe('SIGTERM');
    // the restarted monitor consumed at least what was left, and skipped redelivered ones as duplicates
    const stats = stopped?.stats as { consumed: number; handled: number; duplicates: number };
    expect(stats.handled).toBe(events.length - handedBeforeKill);
    expect(stats.consumed).toBeGreaterThanOrEqual(stats.handled);
    await redis.del(list);
  }, 240_000);
});
