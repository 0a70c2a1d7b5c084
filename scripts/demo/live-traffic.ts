/**
 * Prints samples/demo-traffic.jsonl as if it were happening now, with fresh ids: the docker compose
 * stack's demo-traffic service pipes it into `vigil produce -` once a minute, so the dashboards,
 * alerts and traces always have something to show.
 *
 *   node scripts/demo/live-traffic.ts [--round N] | node src/cli/main.ts produce -
 *
 * Event times are shifted so the file's first event is now; every id (events, intents, sessions,
 * requests, idempotency keys, traces, compensated events) gets the round in it, so a round is new
 * traffic and not redeliveries that vigil would skip as duplicates.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { round: { type: 'string' } } });
const round = values.round ?? String(Date.now());
const file = new URL('../../samples/demo-traffic.jsonl', import.meta.url);
const events = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const first = Math.min(...events.map((e) => Date.parse(String(e.occurredAt))));
const shift = Date.now() - first;
const fresh = (v: unknown) => (typeof v === 'string' ? `${v}~${round}` : v);
const freshTrace = (v: unknown) => (typeof v === 'string' ? createHash('sha256').update(`${v}\0${round}`).digest('hex').slice(0, 32) : v);

for (const e of events) {
  const out: Record<string, unknown> = { ...e, occurredAt: new Date(Date.parse(String(e.occurredAt)) + shift).toISOString() };
  for (const k of ['eventId', 'intentId', 'sessionId', 'requestId', 'idempotencyKey']) if (k in out) out[k] = fresh(out[k]);
  if ('traceId' in out) out.traceId = freshTrace(out.traceId);
  const comp = out.compensation as Record<string, unknown> | undefined;
  if (comp) out.compensation = { ...comp, forEventId: fresh(comp.forEventId) };
  process.stdout.write(JSON.stringify(out) + '\n');
}
