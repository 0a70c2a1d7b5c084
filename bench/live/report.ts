import type { FindingMatch } from './findings-tail.ts';
import type { LatencyResult } from './latency.ts';
import { describeFamilies, type MemoryResult } from './memory.ts';

export interface Row {
  run: string;
  events: number;
  wallS: number;
  eventsPerS: number;
  cpuS: number;
  cpuUsPerEvent: number;
  rssMb?: number;
  note?: string;
}

export interface LiveBenchResult {
  meta: {
    startedAt: string;
    node: string;
    cpus: string;
    loadStart: string;
    loadEnd: string;
    command: string;
    events: number;
    partitions: number;
    idlePartitionMs: number;
    hours: number;
    seed: number;
    quick: boolean;
    runId: string;
  };
  throughput?: {
    rows: Row[];
    ratios: { runOverReplay: number; runOverBare: number; replayOverBare: number };
    findings: FindingMatch;
    /** vigil run's findings by kind (every kind should be there in a full run). */
    findingsByKind: Record<string, number>;
    replaySummary: string;
  };
  scaleOut?: { one: Row; two: Row; ratio: number; findings: FindingMatch };
  latency?: LatencyResult;
  memory?: MemoryResult;
  /** Sections that failed (the others still ran). */
  errors?: { section: string; message: string }[];
}

const n = (x: number) => x.toLocaleString('en-US');

function matchLine(m: FindingMatch, a: string, b: string): string {
  return m.equal
    ? `${a} and ${b} agree: ${n(m.both)} findings, the same findingIds.`
    : `**MISMATCH**: ${a} ${n(m.live)}, ${b} ${n(m.replay)}, in both ${n(m.both)}; only ${a} ${n(m.live - m.both)}${list(m.onlyLive)}; only ${b} ${n(m.replay - m.both)}${list(m.onlyReplay)}.`;
}

function list(xs: string[]): string {
  return xs.length === 0 ? '' : ` (${xs.length < 20 ? '' : 'the first 20: '}${xs.map((x) => `\`${x}\``).join(', ')})`;
}

export function renderMarkdown(r: LiveBenchResult): string {
  const m = r.meta;
  const out: string[] = [
    '# vigil run (live) benchmark',
    '',
    `${m.startedAt} · Node ${m.node} · ${m.cpus} · load average ${m.loadStart} at the start, ${m.loadEnd} at the end · \`${m.command}\`${m.quick ? ' · **--quick: a smoke run, the figures mean little**' : ''}`,
    '',
    `Kafka, the schema registry and Redis of the local stack run on this same machine: they share its cores with the monitor and the bench. \`vigil run\` runs as a child process (every detector, the bundled policy, its own consumer group, Redis prefix and output topics, VIGIL_IDLE_PARTITION_MS=${m.idlePartitionMs}); its CPU and RSS are its own, from /proc.`,
    '',
  ];
  if (r.throughput) {
    const t = r.throughput;
    out.push(
      '## Throughput',
      '',
      `${n(m.events)} events of bench/gen-events.ts traffic (seed ${m.seed}, ${m.hours} h of event time, every anomaly kind, 0.1% redeliveries), produced once with \`vigil produce\` (Avro via the registry, keyed by userId) to a ${m.partitions}-partition topic. Clocks: the bare consumer from its first batch to the last message; \`vigil run\` from its group's first commit to the commit covering the topic (polled every 100 ms); replay the \`vigil replay\` call on the events file the topic was produced from.`,
      '',
      '| run | events | wall s | events/s | CPU s | CPU µs/event |',
      '|---|---:|---:|---:|---:|---:|',
      ...t.rows.map((x) => `| ${x.run} | ${n(x.events)} | ${x.wallS} | ${n(x.eventsPerS)} | ${x.cpuS} | ${x.cpuUsPerEvent} |`),
      '',
      `Ratios (events/s): **run / replay ${t.ratios.runOverReplay}** (goal ≥ 0.8), run / bare ${t.ratios.runOverBare}, replay / bare ${t.ratios.replayOverBare}.`,
      '',
      `Findings: ${matchLine(t.findings, 'vigil run', 'replay')} By kind (vigil run, ${Object.keys(t.findingsByKind).length} kinds): ${Object.entries(t.findingsByKind).sort((a, b) => b[1] - a[1]).map(([k, c]) => `${k} ${n(c)}`).join(', ')}.`,
      '',
      `Replay: ${t.replaySummary}`,
      '',
    );
  }
  if (r.scaleOut) {
    const s = r.scaleOut;
    out.push(
      '## Scale-out',
      '',
      'Two `vigil run` children in one consumer group (same Redis prefix) on the same topic, against one. This machine has 2 cores, shared with Kafka, the registry, Redis and the bench itself: two instances compete for the same cores, so the ratio says more about per-instance overhead and coordination than about what a second machine would add.',
      '',
      '| run | events | wall s | events/s | CPU s (all instances) | CPU µs/event |',
      '|---|---:|---:|---:|---:|---:|',
      ...[s.one, s.two].map((x) => `| ${x.run} | ${n(x.events)} | ${x.wallS} | ${n(x.eventsPerS)} | ${x.cpuS} | ${x.cpuUsPerEvent} |`),
      '',
      `Two / one: **${s.ratio}**. Findings of the two: ${matchLine(s.findings, 'two instances', 'replay')}`,
      '',
    );
  }
  if (r.latency) {
    const l = r.latency;
    const row = (name: string, x: { n: number; p50: number; p99: number; max: number }) => `| ${name} | ${x.n} | ${n(x.p50)} | ${n(x.p99)} | ${n(x.max)} |`;
    out.push(
      '## Detection latency',
      '',
      `Background load ${n(l.rateTarget)} events/s targeted, ${n(l.rateAchieved)} achieved (${n(l.backgroundEvents)} events, gen-events traffic re-timed to the wall clock); ${l.probes} injected action_after_consent_revoked anomalies (a user each, user breaker). Every detector decides by event time, once the watermark passes the anomaly; this kind is partition-local, so by its partition's own watermark (that partition's newest event time − ${l.latenessMs} ms lateness; agent- and vendor-scoped kinds wait for the lowest partition's): "decision" latency starts at the broker append time (LogAppendTime) of the event that made the decision due (the first event appended to the probe's partition with occurredAt ≥ anomaly + lateness); "end to end" starts at the append of the anomaly's own last event and includes the lateness by design. Finding: its LogAppendTime on the findings topic; breaker: its open transition on Redis pub/sub, timed by its at field (Redis's clock when the trip opened it). ${l.probes < 100 ? `With ${l.probes} probes, p99 is the worst or second worst.` : ''}`,
      '',
      '| latency (ms) | n | p50 | p99 | max |',
      '|---|---:|---:|---:|---:|',
      row('decision → finding on safety.findings', l.findingFromDecisionMs),
      row('decision → breaker open in Redis', l.breakerFromDecisionMs),
      row('anomaly\'s last event → finding (includes the lateness)', l.findingFromAnomalyMs),
      '',
      `Missing: ${l.missingFindings} findings, ${l.missingBreakers} breaker opens. Monitor lag when the load stopped: ${n(l.lagAtEnd)} events; monitor CPU ${l.monitorCpuS} s, RSS ${l.monitorRssMb} MB.`,
      '',
    );
  }
  if (r.memory) {
    const mm = r.memory;
    out.push(
      '## Memory and Redis',
      '',
      `${n(mm.users)} distinct users (one action.succeeded each, an hour of event time, then ticks two hours later on every partition), produced while the monitor runs; its own redis-server. **Short-window policy**: ${mm.policy}. Consumed in ${mm.consumeS} s.${mm.expired ? '' : ' **The wait was shorter than the TTL slack (lateness + 60 s past each window): the last row is not "expired".**'}`,
      '',
      '| when | monitor RSS MB | Redis used_memory MB | Redis keys | keys with a TTL over a day | keys by family (1,000 random keys; median TTL left) |',
      '|---|---:|---:|---:|---:|---|',
      ...mm.rows.map((x) => `| ${x.at} | ${x.monitorRssMb} | ${x.redisUsedMb} | ${n(x.redisKeys)} | ${x.overADay === undefined ? '–' : n(x.overADay)} | ${describeFamilies(x.keyFamilies)} |`),
      '',
    );
  }
  for (const e of r.errors ?? []) out.push(`## ${e.section}: FAILED`, '', '```', e.message.split('\n').slice(0, 6).join('\n'), '```', '');
  return out.join('\n');
}
