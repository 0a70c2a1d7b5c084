import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-io.ts';

/**
 * Whether `token` is `expected`, in constant time whatever the input: both sides are hashed to SHA-256
 * digests of equal length first, so neither the comparison nor a length check tells an attacker how much
 * of a guess was right.
 */
export function tokenIs(token: string, expected: string): boolean {
  const a = createHash('sha256').update(token, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The bearer token of a request, undefined without an Authorization header; 401 for a malformed one. */
export function bearerToken(req: IncomingMessage, what: string): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new HttpError(401, `the Authorization header must be "Bearer <${what}>"`, { 'www-authenticate': 'Bearer realm="vigil"' });
  return m[1]!;
}

function requireToken(req: IncomingMessage, expected: string | undefined, what: 'admin token' | 'client token', disabled: string): void {
  if (!expected) throw new HttpError(403, disabled);
  const token = bearerToken(req, what);
  if (token === undefined) throw new HttpError(401, `an "Authorization: Bearer <${what}>" header is required`, { 'www-authenticate': 'Bearer realm="vigil"' });
  if (!tokenIs(token, expected)) throw new HttpError(403, `the bearer token is not the ${what}`);
}

/** 401 without a bearer token, 403 with a wrong one or when no admin token is configured. */
export function requireAdmin(req: IncomingMessage, adminToken: string | undefined): void {
  requireToken(req, adminToken, 'admin token', 'operator actions are disabled: no admin token is configured (VIGIL_ADMIN_TOKEN)');
}

/** The same for the upstream services' client token (POST …/trial). */
export function requireClient(req: IncomingMessage, clientToken: string | undefined): void {
  requireToken(req, clientToken, 'client token', 'trial reports are disabled: no client token is configured (VIGIL_CLIENT_TOKEN)');
}
