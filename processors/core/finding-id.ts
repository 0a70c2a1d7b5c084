import { createHash } from 'node:crypto';
import type { AnomalyKind, Scope } from './finding.ts';

/**
 * The deterministic finding id: the same kind, scope and evidence always give the same id, so a
 * redelivered, restarted or replayed detection causes no second side effect. Evidence order does not
 * matter (out-of-order arrival must not change the id).
 */
export function findingIdOf(kind: AnomalyKind, scope: Scope, eventIds: readonly string[]): string {
  const h = createHash('sha256');
  h.update(kind).update('\0').update(scope.type).update('\0').update(scope.id);
  for (const id of [...eventIds].sort()) h.update('\0').update(id);
  return 'f_' + h.digest('hex').slice(0, 32);
}
