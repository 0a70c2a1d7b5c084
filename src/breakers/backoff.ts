import { createHash } from 'node:crypto';
import type { BreakerSettings } from './state.ts';

/**
 * The open duration of a breaker's n-th consecutive trip: exponential, capped, with jitter that is
 * deterministic given (scope, id, n), so the Lua scripts and this TypeScript agree to the millisecond:
 *
 *   d = min(capMs, baseMs · 2^(n-1));  u = first 32 bits of sha1(scope \0 id \0 n) / 2^32  (0 ≤ u < 1)
 *   duration = floor(d − d · jitter · u)
 *
 * Jitter only shortens, so the duration never exceeds the cap. Same arithmetic, same order, as the Lua.
 */
export function backoffMs(scope: string, id: string, n: number, s: Pick<BreakerSettings, 'baseMs' | 'capMs' | 'jitter'>): number {
  let d = s.baseMs * 2 ** (n - 1);
  if (d > s.capMs) d = s.capMs;
  const hex = createHash('sha1').update(`${scope}\0${id}\0${n}`).digest('hex');
  const u = parseInt(hex.slice(0, 8), 16) / 4294967296;
  return Math.floor(d - d * s.jitter * u);
}
