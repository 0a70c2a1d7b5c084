import { generateEvents } from './gen-events.ts';
import { validateEvent } from '../processors/core/validate-event.ts';
import { ALL_DETECTORS } from '../processors/registry.ts';
import { createRuleSet } from '../processors/engine/rule-set.ts';
import { writeFileSync } from 'node:fs';
import { backlogOrder, compareFindings, partitionOf, randomMerge, runInOrder } from '../processors/testing/backlog-interleave.ts';
import { mulberry32 } from '../processors/testing/run-detectors.ts';

/**
 * Live = replay under a backlog, offline: bench/gen-events.ts traffic through the pure engine (a) in
 * file order with replay's watermark and (b) as a 6-partition backlog delivers it (chunks per partition,
 * round-robin, the live watermark), findings compared by id.
 *
 *   node bench/backlog-order.ts [--events N] [--seed S] [--chunk C] [--partitions P] [--random R] [--ids FILE]
 *
 * --random R: partitions merged at random (seed R), runs of 1..2×chunk events, instead of round-robin.
 * --idle-after K: a partition that sent nothing for K events (of the others) stops holding the watermark
 *   back, as an idle partition live (idlePartitionMs of wall clock); its later events are then late.
 * --ids FILE: writes the findings of both runs (`<order> <findingId> <kind>`), sorted, to compare versions.
 */
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, not "${process.argv[i + 1]}"`);
  return v;
};
const N = arg('events', 200_000);
const SEED = arg('seed', 7);
const CHUNK = arg('chunk', 500);
const P = arg('partitions', 6);
const HOURS = Math.max(4, Math.round((60 * N) / 1_000_000));
const events = [...generateEvents({ events: N, seed: SEED, hours: HOURS })].map((l) => validateEvent(JSON.parse(l)));
const rules = createRuleSet({ detectors: ALL_DETECTORS });
const t0 = performance.now();
const a = runInOrder(ALL_DETECTORS, rules, events.map((e) => ({ e })));
const RANDOM = process.argv.includes('--random') ? arg('random', 1) : undefined;
const order = RANDOM === undefined
  ? backlogOrder(events, { partitions: P, chunk: CHUNK })
  : randomMerge(Array.from({ length: P }, (_, p) => events.filter((e) => partitionOf(e.userId, P) === p)), mulberry32(RANDOM), 2 * CHUNK);
const IDLE = process.argv.includes('--idle-after') ? arg('idle-after', 1) : undefined;
const b = runInOrder(ALL_DETECTORS, rules, order, P, IDLE === undefined ? {} : { idleAfter: IDLE });
const c = compareFindings(a, b);
console.log(`${N} events, seed ${SEED}, ${HOURS} h, ${P} partitions, chunk ${CHUNK}${RANDOM === undefined ? '' : `, random merge ${RANDOM}`}${IDLE === undefined ? '' : `, idle after ${IDLE}`} (${Math.round(performance.now() - t0)} ms)`);
console.log(`findings: file order ${c.a}, backlog order ${c.b}; only in file order ${c.onlyA.length}, only in backlog order ${c.onlyB.length}`);
for (const [k, v] of Object.entries(c.byKind).sort()) console.log(`  ${k.padEnd(28)} ${String(v.a).padStart(6)} ${String(v.b).padStart(6)}${v.a !== v.b ? '  <-' : ''}`);
const show = (tag: string, fs: typeof a) => {
  const kinds: Record<string, number> = {};
  for (const f of fs) kinds[`${f.kind} (${f.scope.type})`] = (kinds[`${f.kind} (${f.scope.type})`] ?? 0) + 1;
  console.log(`${tag}: ${JSON.stringify(kinds)}`);
  if (process.argv.includes('--verbose')) for (const f of fs.slice(0, 10)) console.log(`  ${f.findingId} ${new Date(f.detectedAt).toISOString()} ${f.summary}`);
};
show('only in file order', c.onlyA);
show('only in backlog order', c.onlyB);
const idsAt = process.argv.indexOf('--ids');
if (idsAt >= 0) {
  const lines = [...a.map((f) => `file ${f.findingId} ${f.kind}`), ...b.map((f) => `backlog ${f.findingId} ${f.kind}`)].sort();
  writeFileSync(process.argv[idsAt + 1]!, lines.join('\n') + '\n');
}
