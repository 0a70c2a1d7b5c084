import type { Cluster, Redis } from 'ioredis';
import { isCluster } from '../redis/connection.ts';
import type { KeyBuilder } from '../redis/keys.ts';
import type { BreakerTransition, TransitionCause } from '@vigil/breaker-client/protocol';

/**
 * Transitions that upstream services make through their checks (a cool-down ending, trial outcomes) or
 * that happen lazily (an override expiring) reach the monitor only on Redis pub/sub. The forwarder hands
 * them to `publish` (the Kafka producer of `safety.breaker-transitions`). Trips and operator actions are
 * handed on by BreakerStore itself and are not forwarded again by default.
 * Pub/sub is at most once: while the monitor is disconnected such transitions reach Kafka only if a
 * later script run by the monitor repeats them; the breaker's state in Redis is never lost.
 * Consumers deduplicate on `transitionId` (an override_expired can come through both paths).
 */
export const CLIENT_CAUSES: readonly TransitionCause[] = ['cooldown_elapsed', 'trials_succeeded', 'trial_failed', 'override_expired'];

export interface ForwarderOptions {
  /** The monitor's client; the forwarder subscribes on a duplicate of it. */
  redis: Redis | Cluster;
  keys: KeyBuilder;
  publish: (t: BreakerTransition) => Promise<void> | void;
  /** Causes to forward (default CLIENT_CAUSES). */
  causes?: readonly TransitionCause[];
  /** A message that cannot be parsed or published (default: ignored). */
  onError?: (e: unknown, message: string) => void;
}

export async function forwardTransitions(opts: ForwarderOptions): Promise<{ close(): Promise<void> }> {
  const causes = new Set(opts.causes ?? CLIENT_CAUSES);
  const sub = (isCluster(opts.redis)
    ? opts.redis.duplicate(undefined, { enableOfflineQueue: true })
    : (opts.redis as Redis).duplicate({ enableOfflineQueue: true })) as Redis;
  const channel = opts.keys.breakerTransitionsChannel();
  sub.on('error', () => {});
  // One at a time, in the order Redis published them: a breaker's transitions must not overtake each other.
  let chain: Promise<void> = Promise.resolve();
  sub.on('message', (ch: string, msg: string) => {
    if (ch !== channel) return;
    chain = chain.then(async () => {
      try {
        const t = JSON.parse(msg) as BreakerTransition;
        if (causes.has(t.cause)) await opts.publish(t);
      } catch (e) {
        opts.onError?.(e, msg);
      }
    });
  });
  await sub.subscribe(channel);
  return {
    async close() {
      sub.disconnect();
      await chain;
    },
  };
}
