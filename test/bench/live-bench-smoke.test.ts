import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { LiveBenchResult } from '../../bench/live/report.ts';
import { runTs } from '../helpers/child-process.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';

const BENCH = fileURLToPath(new URL('../../bench/live-bench.ts', import.meta.url));

/**
 * The live bench end to end at smoke size (`--quick`: a few thousand events, a short latency run, a few
 * thousand users) on the local stack: it runs, writes its JSON and table with every section, and
 * vigil run's findings match replay's. No figure is checked: speed is the bench's business, not CI's.
 */
describe('bench/live-bench.ts --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-live-bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes live.json and live.md with throughput, scale-out, latency and memory, findings matching replay', async () => {
    const s = stackEndpoints();
    const out = join(dir, 'live.json');
    const child = runTs(BENCH, ['--quick', '--out', out], {
      KAFKA_BROKERS: s.kafkaBrokers,
      SCHEMA_REGISTRY_URL: s.schemaRegistryUrl,
      REDIS_URL: s.redisUrl,
      SMTP_URL: s.smtpUrl,
    });
    const code = await child.exited;
    expect(code, child.stderr.join('').slice(-3000)).toBe(0);

    const r = JSON.parse(readFileSync(out, 'utf8')) as LiveBenchResult;
    expect(r.meta.quick).toBe(true);
    expect(r.throughput?.rows.map((x) => x.run)).toEqual(['bare kafkajs consumer, count only', 'vigil run, every detector (1 instance)', 'vigil replay --workers 1, every detector']);
    for (const row of r.throughput!.rows) expect(row.events).toBe(r.meta.events);
    expect(r.throughput!.ratios.runOverReplay).toBeGreaterThan(0);
    expect(r.throughput!.findings.both).toBeGreaterThan(0);
    expect(r.throughput!.findings).toMatchObject({ equal: true, onlyLive: [], onlyReplay: [] });
    expect(r.scaleOut?.findings.equal).toBe(true);
    expect(r.scaleOut!.ratio).toBeGreaterThan(0);
    expect(r.latency?.probes).toBeGreaterThan(0);
    expect(r.latency!.missingFindings).toBe(0);
    expect(r.latency!.findingFromDecisionMs.n).toBe(r.latency!.probes);
    expect(r.memory?.rows).toHaveLength(3);

    const md = readFileSync(join(dir, 'live.md'), 'utf8');
    for (const heading of ['## Throughput', '## Scale-out', '## Detection latency', '## Memory and Redis']) expect(md).toContain(heading);
  }, 240_000);
});
