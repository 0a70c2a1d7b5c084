/**
 * `vigil/client`: check vigil's shared circuit breakers from any Node service before acting.
 *
 * ```ts
 * import { createBreakerClient } from 'vigil/client';
 * const breakers = createBreakerClient({ redisUrl: 'redis://127.0.0.1:6379', failMode: { default: 'open' }, cache: true });
 * const answer = await breakers.check({ vendor: 'acme-air', agent: 'travel-assistant', user: 'u_4f2a', action: 'flight.book' });
 * if (!answer.allowed) return refuse(answer.reason, answer.retryAfterMs);
 * const ok = await callVendor();
 * if (answer.permits.length) await breakers.reportOutcome(answer, ok);
 * ```
 * The Redis protocol behind it is in docs/breaker-protocol.md (services in other languages read it directly).
 */
export { createBreakerClient } from './breaker-client.ts';
export type { BreakerClient, BreakerClientOptions, CheckQuery, FailMode } from './breaker-client.ts';
export type { CheckAnswer, ScopeRef } from '../breakers/check.ts';
export type { BreakerReason, BreakerScope, BreakerStateName } from '../breakers/state.ts';
export type { BreakerTransition } from '../breakers/transition.ts';
export { BreakerError, isBreakerError } from '../breakers/errors.ts';
