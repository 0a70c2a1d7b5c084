/**
 * @vigil/breaker-client: check vigil's shared circuit breakers from any Node service before acting.
 *
 * ```ts
 * import { createBreakerClient } from '@vigil/breaker-client';
 * const breakers = createBreakerClient({ redisUrl: 'redis://127.0.0.1:6379', failMode: { default: 'closed' } });
 * const answer = await breakers.check({ vendor: 'acme-air', agent: 'travel-assistant', user: 'u_4f2a', action: 'flight.book' });
 * if (!answer.allowed) return refuse(answer.reason, answer.retryAfterMs);
 * const ok = await callVendor();
 * if (answer.permits.length) await breakers.reportOutcome(answer, ok);
 * ```
 * The Redis protocol behind it is docs/breaker-protocol.md in the vigil repository; the building blocks
 * (keys, the read path, the Lua scripts) are exported from `@vigil/breaker-client/protocol`.
 */
export { createBreakerClient } from './breaker-client.ts';
export type { BreakerClient, BreakerClientOptions, CheckOptions, CheckQuery, DegradedCheck, FailMode } from './breaker-client.ts';
export type { CheckAnswer, ScopeRef } from './check.ts';
export { BREAKER_SCOPES, BREAKER_STATES, PROTOCOL_VERSION } from './protocol.ts';
export type { BreakerReason, BreakerScope, BreakerStateName } from './protocol.ts';
export type { BreakerTransition, TransitionCause } from './transition.ts';
export { BreakerError, isBreakerError } from './errors.ts';
export type { BreakerErrorCode } from './errors.ts';
