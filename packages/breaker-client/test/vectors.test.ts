import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakerClient } from '../src/index.ts';
import { stackEndpoints } from '../../../test/helpers/stack-env.ts';
import { deleteBreakers, expectFields, loadVectors, writeBreakers } from '../../../test/helpers/vectors.ts';
import { randomName } from '../../../test/helpers/wait.ts';

/** The Node client passes every conformance vector (docs/breaker-protocol.vectors.json) against real Redis. */
describe('conformance vectors: @vigil/breaker-client', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(stackEndpoints().redisUrl);
  });
  afterAll(() => redis.disconnect());

  for (const v of loadVectors()) {
    it(v.name, async () => {
      const prefix = randomName('t-vec-node');
      await writeBreakers(redis, prefix, v);
      const client = createBreakerClient({ redis, keyPrefix: prefix, failMode: { default: 'open' }, timeoutMs: 5000, clock: () => v.now });
      try {
        const a = await client.check(v.check);
        expect({ allowed: a.allowed, blockingScope: a.blockingScope, state: a.state, retryAfterMs: a.retryAfterMs, permits: a.permits }, v.why).toEqual(v.expect);
        expect(a.degraded).toBeUndefined();
        await expectFields(redis, prefix, v.after, 'after the check');
        if (v.report) {
          await client.reportOutcome(a, v.report.success);
          await expectFields(redis, prefix, v.report.after, 'after the report');
        }
      } finally {
        await client.close();
        await deleteBreakers(redis, prefix, v);
      }
    });
  }
});
