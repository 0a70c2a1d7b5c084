import type { BreakerStore } from './breaker-store.ts';
import { breakerView, type BreakerView } from './view.ts';

/** One line per breaker that is not closed: scope, id, state, until when, and why (for the demo and logs). */
export function describeBreaker(v: BreakerView): string {
  const until = v.until ? ` until ${v.until}` : '';
  if (v.actor) return `${v.scope} ${v.id}: ${v.state}${until} by ${v.actor}: ${v.note ?? ''}`;
  const r = v.reason;
  const why = r ? ` by ${r.ruleId}${r.observed !== null && r.threshold !== null ? ` (observed ${r.observed} vs threshold ${r.threshold})` : ''}: ${r.summary} [findings ${r.findingIds.join(', ')}]` : '';
  return `${v.scope} ${v.id}: ${v.effectiveState}${until}${why}`;
}

/** Every breaker that is not closed, described, sorted by scope and id. */
export async function describeOpenBreakers(store: BreakerStore): Promise<string[]> {
  const [list, now] = await Promise.all([store.list(), store.now()]);
  return list.filter((b) => b.status.kind !== 'closed').map((b) => describeBreaker(breakerView(b, now)));
}
