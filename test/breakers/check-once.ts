/**
 * A second process for e2e-kafka.test.ts: an upstream service that checks the breakers once (argv[2]:
 * JSON {redisUrl, prefix, query, report?}) and, when given a half-open permit and `report`, reports a
 * successful trial. Prints the answer as one JSON line.
 */
import { createBreakerClient } from '@vigil/breaker-client';

const job = JSON.parse(process.argv[2]!);
const client = createBreakerClient({ redisUrl: job.redisUrl, keyPrefix: job.prefix, failMode: { default: 'closed' }, timeoutMs: 2000 });
await client.ready();
const answer = await client.check(job.query);
if (job.report && answer.permits.length) await client.reportOutcome(answer, true);
process.stdout.write(JSON.stringify(answer) + '\n');
await client.close();
