/**
 * A child process of concurrency.test.ts. argv[2] is a JSON job:
 *   { redisUrl, prefix, startAt, mode: 'check', checks, scope, id }   checks at once, reports each permit's trial as a success
 *   { redisUrl, prefix, startAt, mode: 'trip', findings, scope, id }   trips with each finding id, checking in between
 * It waits until startAt (epoch ms) so that all workers hit Redis together, then prints one JSON line.
 */
import { BreakerStore } from '../../src/breakers/breaker-store.ts';
import { createBreakerClient } from '@vigil/breaker-client';
import { connectRedis } from '../../src/redis/connection.ts';
import { KeyBuilder } from '../../src/redis/keys.ts';
import { sampleReason } from './helpers.ts';

const job = JSON.parse(process.argv[2]!);
const redis = connectRedis({ url: job.redisUrl, connectionName: 'test-breakers-worker' });
const client = createBreakerClient({ redis, keyPrefix: job.prefix, failMode: { default: 'closed' }, timeoutMs: 5000 });
const store = new BreakerStore({ redis, keys: new KeyBuilder(job.prefix) });
await client.ready();
while (Date.now() < job.startAt) await new Promise((r) => setTimeout(r, 1));

const result = { permits: 0, allowed: 0, denied: 0, degraded: 0, tripped: 0, duplicate: 0, alreadyOpen: 0 };
if (job.mode === 'check') {
  await Promise.all(
    Array.from({ length: job.checks }, async () => {
      const a = await client.check({ [job.scope]: job.id });
      if (a.degraded) result.degraded += 1;
      if (a.allowed) result.allowed += 1;
      else result.denied += 1;
      if (a.permits.length) {
        result.permits += a.permits.length;
        await client.reportOutcome(a, true);
      }
    }),
  );
} else {
  await Promise.all(
    (job.findings as string[]).map(async (f) => {
      const r = await store.trip(job.scope, job.id, { findingId: f, reason: sampleReason(f), settings: job.settings });
      if (r.outcome === 'tripped') result.tripped += 1;
      if (r.outcome === 'duplicate') result.duplicate += 1;
      if (r.outcome === 'already_open') result.alreadyOpen += 1;
      const a = await client.check({ [job.scope]: job.id });
      if (a.allowed) result.allowed += 1;
    }),
  );
}
process.stdout.write(JSON.stringify(result) + '\n');
await client.close();
await redis.quit();
