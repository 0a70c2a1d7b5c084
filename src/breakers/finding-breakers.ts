import type { Finding } from '../../processors/core/finding.ts';
import type { FindingSink } from '../detection/finding-sink.ts';
import { EffectMarkers } from '../redis/effect-markers.ts';
import { inOrderPerKey } from '../redis/in-order-per-key.ts';
import type { BreakerPolicy } from './breaker-policy.ts';
import type { BreakerStore } from './breaker-store.ts';
import { decideTrips, type TripAction, type TripDecision } from './decide-trips.ts';
import type { OpResult } from './machine.ts';
import type { BreakerTransition } from './transition.ts';

export interface FindingBreakersDeps {
  /** Publishes a batch of findings in one produce, skipping ids already published (src/kafka/finding-publisher.ts). */
  findings: FindingSink;
  /**
   * The breakers, built WITHOUT publishTransition: this stage collects the transitions of a batch and
   * hands them to `transitions` together.
   */
  breakers: BreakerStore;
  /** Takes a batch's transitions, in order, in one produce (TransitionOutlet). */
  transitions: { publish(ts: readonly BreakerTransition[]): Promise<void> };
  /** The breaker rules in force (read once per batch: a policy reload applies from the next batch). */
  policy: () => BreakerPolicy;
  /** Called with the batch once its findings are durable, before any breaker is tripped (metrics, hooks). */
  onPublished?: (findings: readonly Finding[]) => void;
  /** How long a produced transitionId is remembered (default 7 days, as published findings). */
  rememberSeconds?: number;
  /** Called for a finding whose rule (or itself) is shadow: what it would have tripped. */
  onShadow?: (finding: Finding, wouldTrip: readonly TripAction[]) => void;
}

/** What a batch did to the breakers. */
export interface AppliedBatch {
  /** Each finding's decision, in batch order. */
  decisions: { finding: Finding; decision: TripDecision }[];
  /** Every trip's result, in the order a sequential run would have made them (finding, then trip). */
  results: OpResult[];
  /** The transitions produced to `safety.breaker-transitions` by this call, in sequential order (a repeat's are not produced again). */
  transitions: BreakerTransition[];
}

/**
 * Findings → breakers, the stage after detection in `vigil run`, as one sink for a batch of findings:
 *
 * 1. the findings go to `safety.findings` in one produce (ids already published are skipped);
 * 2. each finding's trips are decided (decideTrips, pure), and the trips run concurrently across
 *    distinct breakers; the trips of one breaker run one after another in batch order, so a breaker
 *    sees the same sequence of findings as a sequential run and makes the same transitions;
 * 3. the transitions of the batch go to `safety.breaker-transitions` in one produce, in sequential order.
 *
 * A retried batch repeats nothing: the publisher skips published findings, each breaker applies a
 * findingId once (its tripBreaker script answers a repeat with the original transition, same id), and
 * a transition whose id was produced before is not produced again. When some trips fail
 * (Redis down), the transitions of the ones that succeeded are still produced before the error is
 * thrown (not left to the retry); a breaker whose trip failed runs none of its later
 * trips in this attempt, so the retry keeps its order.
 */
export class FindingBreakers implements FindingSink {
  private readonly d: FindingBreakersDeps;
  private readonly markers: EffectMarkers;
  constructor(deps: FindingBreakersDeps) {
    if (deps.breakers.publishesTransitions) {
      throw new Error('FindingBreakers needs a BreakerStore without publishTransition: it produces the transitions of a batch itself');
    }
    this.d = deps;
    this.markers = new EffectMarkers(deps.breakers.redis);
  }

  async publish(findings: readonly Finding[]): Promise<void> {
    await this.apply(findings);
  }

  /** Publishes the findings, trips their breakers and produces the transitions (see the class). */
  async apply(findings: readonly Finding[]): Promise<AppliedBatch> {
    if (findings.length === 0) return { decisions: [], results: [], transitions: [] };
    await this.d.findings.publish(findings);
    this.d.onPublished?.(findings);
    const policy = this.d.policy();
    const decisions = findings.map((finding) => ({ finding, decision: decideTrips(finding, policy, finding.subjects) }));
    for (const { finding, decision } of decisions) if (decision.shadow.length) this.d.onShadow?.(finding, decision.shadow);

    // The trips in sequential order: per breaker one after another, the breakers side by side.
    const trips = decisions.flatMap(({ decision }) => decision.trips);
    const { results, failed, error } = await inOrderPerKey(trips, (t) => `${t.scope}:${t.id}`, (t) => this.d.breakers.trip(t.scope, t.id, t.args));
    const done = results.filter((r): r is OpResult => r !== undefined);
    const transitions = await this.produceOnce(done.flatMap((r) => r.transitions));
    if (failed) throw error;
    return { decisions, results: done, transitions };
  }

  /**
   * Produces the transitions not produced before, in one produce, and remembers them. A trip repeated
   * for a redelivered finding returns its original transition (same id): produced already, unless the
   * last attempt stopped between Redis and Kafka, when it is produced now (the marker is written after
   * the broker acknowledged).
   */
  private async produceOnce(all: readonly BreakerTransition[]): Promise<BreakerTransition[]> {
    const unique = [...new Map(all.map((t) => [t.transitionId, t])).values()];
    if (unique.length === 0) return [];
    const { keys } = this.d.breakers;
    const markers = unique.map((t) => keys.findingEffect('transition', t.transitionId));
    const seen = await this.markers.present(markers);
    const fresh = unique.filter((_, i) => !seen[i]);
    if (fresh.length === 0) return [];
    await this.d.transitions.publish(fresh);
    await this.markers.mark(markers.filter((_, i) => !seen[i]), this.d.rememberSeconds ?? 7 * 86400);
    return fresh;
  }
}
