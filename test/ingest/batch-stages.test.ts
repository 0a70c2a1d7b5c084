import { afterAll, describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { EventDecoder } from '../../src/kafka/event-codec.ts';
import { EventDedupe } from '../../src/ingest/dedupe.ts';
import { processBatch } from '../../src/ingest/batch-processor.ts';
import type { BatchContext, BatchHandler } from '../../src/ingest/batch-handler.ts';
import { connectRedis } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { makeEvents } from '../fixtures/make-events.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** JSON messages of `n` ordinary events, offsets from 0. */
function messages(n: number): KafkaMessage[] {
  return makeEvents(n).map((e, i) => ({ key: null, value: Buffer.from(JSON.stringify(e)), timestamp: String(Date.now()), attributes: 0, offset: String(i), headers: {} }) as KafkaMessage);
}

/**
 * processBatch's stage times (vigil_batch_stage_seconds): each stage is timed where it runs, and the time
 * a handler says the batch waited behind others is taken out of the handler's own time. Real Redis for
 * the dedupe; the times asserted are the handler's own sleeps, with wide margins (no speed is measured).
 */
describe('batch stage times', () => {
  const redis = connectRedis({ url: stackEndpoints().redisUrl, connectionName: 'vigil-batch-stages-test' });
  afterAll(() => redis.disconnect());
  const deps = (handler: BatchHandler) => ({
    decoder: new EventDecoder(undefined, 1 << 20),
    dedupe: new EventDedupe(redis, new KeyBuilder(randomName('stages')), 600),
    handler,
    sendDeadLetters: async () => {},
  });

  it('splits the handler time into the wait it reports and its own work', async () => {
    const handler: BatchHandler = {
      async handle(_events, ctx: BatchContext) {
        await sleep(60); // "behind another partition's pass"
        ctx.timing!.waitMs += 60;
        await sleep(40); // its own work
      },
    };
    const started = performance.now();
    const out = await processBatch({ topic: 't', partition: 0, messages: messages(50) }, deps(handler));
    const wall = performance.now() - started;
    expect(out.handled).toBe(50);
    const s = out.stageMs;
    expect(s.wait).toBe(60);
    expect(s.handle).toBeGreaterThanOrEqual(35); // its 40 ms sleep (timers may fire a little early)
    expect(s.handle).toBeLessThan(wall - 60);
    for (const v of Object.values(s)) expect(v).toBeGreaterThanOrEqual(0);
    expect(s.decode + s.dedupe + s.wait + s.handle + s.deadLetter + s.mark).toBeLessThanOrEqual(wall + 1);
    expect(s.dedupe).toBeGreaterThan(0); // a Redis round trip
    expect(s.mark).toBeGreaterThan(0);
  });

  it('never reports more wait than the handler took, nor a negative handling time', async () => {
    const handler: BatchHandler = {
      async handle(_events, ctx: BatchContext) {
        ctx.timing!.waitMs += 10_000; // a handler that overstates it
      },
    };
    const out = await processBatch({ topic: 't', partition: 0, messages: messages(5) }, deps(handler));
    expect(out.stageMs.wait).toBeLessThan(1_000);
    expect(out.stageMs.handle).toBe(0);
  });

  it('counts nothing as wait for a handler that does not report it', async () => {
    const handler: BatchHandler = { handle: () => sleep(20) };
    const out = await processBatch({ topic: 't', partition: 0, messages: messages(5) }, deps(handler));
    expect(out.stageMs.wait).toBe(0);
    expect(out.stageMs.handle).toBeGreaterThanOrEqual(15);
  });
});
