import type { DegradedCheck } from '@vigil/breaker-client';
import type { Logger } from '../observability/logger.ts';
import type { IngestMetrics } from '../observability/metrics.ts';

export interface DegradedCheckRecorderOptions {
  metrics?: IngestMetrics;
  logger?: Logger;
  /** At most one log line per this many ms (default 10 s); the next line says how many were not logged. */
  logIntervalMs?: number;
  clock?: () => number;
}

/**
 * What the breaker API does with a check answered by the fail mode (Redis unreachable): counts it in
 * vigil_breaker_check_degraded_total{scope_type, answer, reason} and logs it, rate-limited so that an
 * outage under load does not flood the log: the first one at once, then at most one line per interval,
 * carrying the number of degraded answers since the previous line.
 */
export function degradedCheckRecorder(opts: DegradedCheckRecorderOptions): (d: DegradedCheck) => void {
  const interval = opts.logIntervalMs ?? 10_000;
  const clock = opts.clock ?? Date.now;
  let lastLogAt = -Infinity;
  let since = 0;
  return (d) => {
    const answer = d.answer.allowed ? 'allowed' : 'denied';
    const blocking = d.answer.blockingScope;
    opts.metrics?.breakerCheckDegraded.inc({ scope_type: blocking?.scope ?? 'none', answer, reason: d.cause });
    since += 1;
    const now = clock();
    if (!opts.logger || now - lastLogAt < interval) return;
    opts.logger.warn('breaker checks answered by fail mode: Redis unreachable', {
      answer,
      scope: blocking ? `${blocking.scope}:${blocking.id}` : null,
      reason: d.cause,
      error: d.error instanceof Error ? d.error.message : String(d.error),
      degradedSinceLastLine: since,
      nextLineInSeconds: interval / 1000,
    });
    lastLogAt = now;
    since = 0;
  };
}
