import type { Breaker, BreakerScope } from './state.ts';
import { force, reportTrial, reset, takePermit, trip } from './machine.ts';
import type { ForceArgs, OpResult, Step, TripArgs } from './machine.ts';
import type { BreakerTransition } from '@vigil/breaker-client/protocol';

/**
 * The reference model: an in-memory Redis of breakers driven by the pure state machine, with the same
 * operations and results as the Lua scripts (BreakerStore). Used by the property tests, and usable as
 * an in-memory store wherever Redis is not wanted. `reset` of an unknown breaker returns undefined
 * (the script's -3, not_found).
 */
export class BreakerModel {
  readonly breakers = new Map<string, Breaker>();
  /** Per breaker: findingId -> the trip transition it caused (null: none). */
  readonly findings = new Map<string, Map<string, BreakerTransition | null>>();

  private apply(scope: BreakerScope, id: string, step: Step): OpResult {
    if (step.breaker) this.breakers.set(`${scope}:${id}`, step.breaker);
    return step.result;
  }

  get(scope: BreakerScope, id: string): Breaker | undefined {
    return this.breakers.get(`${scope}:${id}`);
  }

  trip(scope: BreakerScope, id: string, now: number, a: TripArgs): OpResult {
    const k = `${scope}:${id}`;
    const seen = this.findings.get(k)?.get(a.findingId);
    const r = this.apply(scope, id, trip(this.get(scope, id), scope, id, now, a, seen));
    if (seen === undefined) {
      if (!this.findings.has(k)) this.findings.set(k, new Map());
      this.findings.get(k)!.set(a.findingId, r.outcome === 'tripped' ? r.transitions.at(-1)! : null);
    }
    return r;
  }

  takePermit(scope: BreakerScope, id: string, now: number): OpResult {
    return this.apply(scope, id, takePermit(this.get(scope, id), scope, id, now));
  }

  reportTrial(scope: BreakerScope, id: string, now: number, success: boolean): OpResult {
    return this.apply(scope, id, reportTrial(this.get(scope, id), scope, id, now, success));
  }

  force(scope: BreakerScope, id: string, now: number, a: ForceArgs): OpResult {
    return this.apply(scope, id, force(this.get(scope, id), scope, id, now, a));
  }

  reset(scope: BreakerScope, id: string, now: number, actor: string, note: string): OpResult | undefined {
    const step = reset(this.get(scope, id), scope, id, now, actor, note);
    return step ? this.apply(scope, id, step) : undefined;
  }
}
