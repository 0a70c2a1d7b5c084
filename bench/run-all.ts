import { spawnSync } from 'node:child_process';

/**
 * `npm run bench`: runs every bench script in sequence, each in its own Node process (with
 * --expose-gc, so memory figures are taken after a full GC). Add a bench by adding a line below.
 */
const BENCHES: { name: string; script: string; args?: string[] }[] = [
  { name: 'replay', script: 'bench/replay-bench.ts' },
  { name: 'check', script: 'bench/check-bench.ts' },
  // findings and recall on held-out traffic with two hostile clocks (add --baseline <checkout> to compare)
  { name: 'hostile-clocks', script: 'bench/hostile-clocks.ts' },
  // its own redis-server, filled with 1.2M unrelated keys
  { name: 'list', script: 'bench/list-bench.ts' },
  // a redis-server of its own with a million user breakers (about 2 minutes)
  { name: 'metrics', script: 'bench/metrics-bench.ts' },
  // the live engine alone (Redis, no Kafka) against the pure engine on the same events
  { name: 'engine', script: 'bench/engine-bench.ts' },
  // needs the local stack (started if down): real Kafka, Apicurio and Redis
  { name: 'ingest', script: 'bench/ingest-bench.ts' },
  // the local stack too: vigil run (every detector) against replay and a bare consumer on 1,000,000
  // events, detection latency, memory after 1,000,000 users, two instances against one (10-20 minutes)
  { name: 'live', script: 'bench/live-bench.ts' },
];

let failed = 0;
for (const b of BENCHES) {
  process.stdout.write(`\n=== bench: ${b.name} (${b.script}) ===\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', b.script, ...(b.args ?? []), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench ${b.name} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
