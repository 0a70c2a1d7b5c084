import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-server.ts';

/**
 * True when `given` is the admin token. Constant time whatever the input: both sides are hashed to
 * SHA-256 digests of equal length first, so neither the comparison nor its length check tells an
 * attacker how much of a guess was right.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** 401 without a bearer token, 403 with a wrong one or when no admin token is configured. */
export function requireAdmin(req: IncomingMessage, adminToken: string | undefined): void {
  if (!adminToken) throw new HttpError(403, 'operator actions are disabled: no admin token is configured (VIGIL_ADMIN_TOKEN)');
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (!m) throw new HttpError(401, 'an "Authorization: Bearer <admin token>" header is required', { 'www-authenticate': 'Bearer realm="vigil"' });
  if (!tokensEqual(m[1]!, adminToken)) throw new HttpError(403, 'the bearer token is not the admin token');
}
