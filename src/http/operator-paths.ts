import type { IncomingMessage } from 'node:http';
import { OPERATOR_ACTIONS } from '../breakers/operator-input.ts';

/** True for an operator action: a write to `/v1/breakers/{scope}/{id}/{force-open|force-close|reset}` (rate-limited). */
export function isOperatorAction(req: IncomingMessage, url: URL): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const parts = url.pathname.split('/').filter(Boolean);
  return parts.length === 5 && parts[0] === 'v1' && parts[1] === 'breakers' && (OPERATOR_ACTIONS as readonly string[]).includes(parts[4]!);
}
