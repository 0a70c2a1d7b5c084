import { PassThrough } from 'node:stream';
import type { Config } from '../config/config.ts';
import type { Monitor } from '../app/monitor.ts';
import type { Finding } from '../../processors/core/finding.ts';
import type { StackEndpoints } from '../../scripts/stack/index.ts';
import { BreakerStore } from '../breakers/breaker-store.ts';
import { createBreakerClient } from '@vigil/breaker-client';
import { readFindings } from './read-findings.ts';
import { replayCommand } from './replay.ts';

export interface DemoReportDeps {
  config: Config;
  monitor: Monitor;
  stack: StackEndpoints;
  /** Findings the monitor raised (from its sink), to know how many to read back from Kafka. */
  raised: ReadonlyMap<string, Finding>;
  say: (line: string) => void;
  /** The traffic file the demo published, replayed in memory to compare. */
  traffic: string;
}

const SEVERITY_MARK: Record<string, string> = { critical: '‼', warning: '!', info: '·' };

/** What the demo shows once the traffic is consumed: findings (read back from Kafka), breakers, a denied check. */
export async function showDemoResults(d: DemoReportDeps): Promise<void> {
  const { config, say } = d;
  say(`\n▶ Findings on ${config.kafka.topics.findings} (read back from Kafka, Avro):`);
  const findings = d.raised.size === 0 ? [] : await readFindings(config, d.raised.size);
  if (findings.length === 0) say('  none');
  for (const f of findings.sort((a, b) => a.detectedAt.localeCompare(b.detectedAt))) {
    say(`  ${SEVERITY_MARK[f.severity] ?? ' '} ${f.severity.padEnd(8)} ${f.kind.padEnd(29)} ${`${f.scope.type}:${f.scope.id}`.padEnd(26)} ${f.summary}`);
  }

  await compareWithReplay(d.traffic, findings, say);

  const store = new BreakerStore({ redis: d.monitor.redis, keys: d.monitor.keys });
  const breakers = await store.list();
  say(`\n▶ Circuit breakers in Redis (prefix ${config.redis.keyPrefix}):`);
  if (breakers.length === 0) say('  none open');
  for (const b of breakers) {
    const s = b.status;
    const until = 'until' in s && typeof s.until === 'number' ? ` until ${new Date(s.until).toISOString().slice(11, 19)}Z` : '';
    const why = 'reason' in s && s.reason ? ` — ${(s.reason as { summary: string }).summary}` : '';
    say(`  ${`${b.scope}:${b.id}`.padEnd(28)} ${s.kind}${until}${why}`);
  }

  const client = createBreakerClient({ redis: d.monitor.redis, keyPrefix: config.redis.keyPrefix, failMode: { default: 'closed' } });
  const query = { vendor: 'acme-air', agent: 'travel-assistant', user: 'u_0300', action: 'flight.search' };
  const answer = await client.check(query);
  await client.close();
  say(`\n▶ An upstream service asks before calling the vendor: check(${JSON.stringify(query)})`);
  say(`  allowed=${answer.allowed}${answer.blockingScope ? ` blockingScope=${answer.blockingScope.scope}:${answer.blockingScope.id} state=${answer.state}` : ''}${answer.retryAfterMs !== null ? ` retryAfterMs=${answer.retryAfterMs}` : ''}`);
  if (answer.reason) say(`  reason: ${answer.reason}`);
  if (d.monitor.apiPort) say(`  (the same over HTTP: curl 'http://${config.http.host}:${d.monitor.apiPort}/v1/breakers/check?vendor=acme-air&agent=travel-assistant&user=u_0300&action=flight.search')`);
}

/** Runs `vigil replay` of the same file (in memory, no services) and says whether it found the same. */
async function compareWithReplay(traffic: string, live: readonly Finding[], say: (line: string) => void): Promise<void> {
  let out = '';
  const stdout = Object.assign(new PassThrough(), { write: (c: string) => ((out += String(c)), true) });
  const stderr = Object.assign(new PassThrough(), { write: () => true });
  const code = await replayCommand([traffic, '--format', 'jsonl'], { stdout, stderr, stdin: process.stdin });
  const replayed = out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as Finding).findingId);
  const liveIds = new Set(live.map((f) => f.findingId));
  const same = code === 0 && replayed.length === liveIds.size && replayed.every((id) => liveIds.has(id));
  say(`\n▶ The same file through \`vigil replay\` (in memory, no services): ${replayed.length} findings, ${same ? 'the same ids as live ✔' : `NOT the same as live (live ${[...liveIds].join(', ')}; replay ${replayed.join(', ')})`}`);
}
