import type { Logger } from '../observability/logger.ts';
import type { BreakerTransition } from './transition.ts';

/** Produces transitions to `safety.breaker-transitions`, several in one produce (src/kafka/transition-publisher.ts). */
export interface TransitionProducer {
  publishAll(ts: readonly BreakerTransition[]): Promise<void>;
}

export interface TransitionOutletDeps {
  producer: TransitionProducer;
  /** Called with each transition before it is produced (the monitor counts it). */
  observe?: (t: BreakerTransition) => void;
  /** Each transition is logged at warn: a breaker changing state is something an operator wants to see. */
  logger?: Logger;
}

/**
 * Where the monitor's breaker transitions go once Redis committed them: counted and logged one by one,
 * then produced together. The findings → breakers stage hands over a batch's transitions at once (one
 * produce); the HTTP API and the pub/sub forwarder hand over one at a time (`one`).
 */
export class TransitionOutlet {
  private readonly d: TransitionOutletDeps;
  constructor(deps: TransitionOutletDeps) {
    this.d = deps;
  }

  /** Every transition of `ts`, in order, in one produce; resolves once the broker acknowledged them. */
  async publish(ts: readonly BreakerTransition[]): Promise<void> {
    if (ts.length === 0) return;
    for (const t of ts) {
      this.d.observe?.(t);
      this.d.logger?.warn('breaker transition', {
        breaker: `${t.scope}:${t.scopeId}`, from: t.from, to: t.to, cause: t.cause,
        until: t.until ? new Date(t.until).toISOString() : null, findingId: t.findingId, actor: t.actor,
      });
    }
    await this.d.producer.publishAll(ts);
  }

  /** One transition (a callback for BreakerStore's publishTransition and the forwarder). */
  readonly one = (t: BreakerTransition): Promise<void> => this.publish([t]);
}
