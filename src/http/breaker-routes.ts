import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBreakerError } from '@vigil/breaker-client/protocol';
import { checkBreakerRef, checkListFilter, checkOperatorRequest, OPERATOR_ACTIONS, type OperatorAction } from '../breakers/operator-input.ts';
import { breakerView } from '../breakers/view.ts';
import type { OverrideResult } from '../breakers/breaker-store.ts';
import { abandonedMessage } from '../breakers/operator-input.ts';
import { withTimeout } from '../errors/timeout.ts';
import type { CheckQuery } from '@vigil/breaker-client';
import { bearerToken, requireAdmin, requireClient, tokenIs } from './auth.ts';
import type { HttpDeps } from './http-deps.ts';
import { HttpError, readJson, sendJson } from './http-io.ts';

const CHECK_PARAMS = ['vendor', 'agent', 'user', 'action'] as const;

function onlyParams(url: URL, allowed: readonly string[]): void {
  for (const k of new Set(url.searchParams.keys())) {
    if (!allowed.includes(k)) throw new HttpError(400, `unknown query parameter "${k}" (known: ${allowed.join(', ') || 'none'})`);
    if (url.searchParams.getAll(k).length > 1) throw new HttpError(400, `query parameter "${k}" is given more than once`);
  }
}

function segment(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `${what} is not valid URL encoding: ${s}`);
  }
}

/**
 * A read of the breakers, bounded like an operator write (the store's write deadline): while Redis is
 * unreachable the client may queue commands until it is back; the caller gets a retriable error (503
 * with Retry-After) instead of an answer minutes later.
 */
function readWithin<T>(deps: HttpDeps, p: Promise<T>): Promise<T> {
  return withTimeout(p, deps.store.writeDeadlineMs, 'reading the breakers from Redis');
}

function method(req: IncomingMessage, m: string): void {
  if (req.method !== m) throw new HttpError(405, `use ${m}`, { allow: m });
}

/**
 * The /v1/breakers routes. Returns false when the path is not one of them.
 *   GET  /v1/breakers?scope=&state=            list (filters optional)
 *   GET  /v1/breakers/check?vendor=&agent=&user=&action=   trial permits only with the bearer client token
 *   GET  /v1/breakers/{scope}/{id}             one breaker
 *   POST /v1/breakers/{scope}/{id}/force-open|force-close|reset   {actor, reason, ttlSeconds}; bearer admin token
 *   POST /v1/breakers/{scope}/{id}/trial       {success}: outcome of a half-open trial the check permitted; bearer client token
 */
export async function handleBreakerRoute(req: IncomingMessage, res: ServerResponse, url: URL, deps: HttpDeps): Promise<boolean> {
  const parts = url.pathname.split('/').filter((p, i) => i > 0 || p !== '');
  if (parts[0] !== 'v1' || parts[1] !== 'breakers') return false;
  const rest = parts.slice(2);
  if (rest.length === 0) {
    method(req, 'GET');
    onlyParams(url, ['scope', 'state']);
    const f = checkListFilter(url.searchParams.get('scope') ?? undefined, url.searchParams.get('state') ?? undefined);
    if (!f.ok) throw new HttpError(400, f.error);
    const [list, now] = await readWithin(deps, Promise.all([deps.store.list(f.value), deps.store.now()]));
    sendJson(res, 200, { breakers: list.map((b) => breakerView(b, now)) });
    return true;
  }
  if (rest.length === 1 && rest[0] === 'check') {
    method(req, 'GET');
    onlyParams(url, CHECK_PARAMS);
    const q: CheckQuery = {};
    for (const k of CHECK_PARAMS) {
      const v = url.searchParams.get(k);
      if (v === null) continue;
      if (v === '') throw new HttpError(400, `${k} is empty: give an id or leave the parameter out`);
      q[k] = v;
    }
    // Trial permits go only to callers that can report the trial (the client token); without a token
    // the check is read-only and a breaker due for a trial denies.
    const token = bearerToken(req, 'client token');
    if (token !== undefined && !(deps.clientToken && tokenIs(token, deps.clientToken))) {
      throw new HttpError(403, deps.clientToken ? 'the bearer token is not the client token' : 'no client token is configured (VIGIL_CLIENT_TOKEN): check without a token');
    }
    try {
      sendJson(res, 200, await deps.checker.check(q, { takePermits: token !== undefined }));
    } catch (e) {
      if (isBreakerError(e) && e.code === 'invalid_argument') throw new HttpError(400, e.message.replace(/^check on [^:]+:[^:]*: /, ''));
      throw e;
    }
    return true;
  }
  if (rest.length === 2 || rest.length === 3) {
    const ref = checkBreakerRef(segment(rest[0]!, 'scope'), segment(rest[1]!, 'id'));
    if (rest.length === 2) {
      method(req, 'GET');
      onlyParams(url, []);
      if (!ref.ok) throw new HttpError(400, ref.error);
      const [b, now] = await readWithin(deps, Promise.all([deps.store.get(ref.value.scope, ref.value.id), deps.store.now()]));
      if (!b) throw new HttpError(404, `no breaker ${ref.value.scope}/${ref.value.id} (it has never tripped or been forced: it is closed)`);
      sendJson(res, 200, breakerView(b, now));
      return true;
    }
    if (rest[2] === 'trial') {
      // The outcome of a call a half-open permit (from /v1/breakers/check) let through: the client token.
      method(req, 'POST');
      requireClient(req, deps.clientToken);
      onlyParams(url, []);
      if (!ref.ok) throw new HttpError(400, ref.error);
      const body = await readJson(req);
      const keys = typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body) : [];
      if (keys.length !== 1 || typeof (body as { success?: unknown }).success !== 'boolean') {
        throw new HttpError(400, 'body must be {"success": true|false}: the outcome of the trial call');
      }
      const r = await deps.store.reportTrial(ref.value.scope, ref.value.id, (body as { success: boolean }).success);
      sendJson(res, 200, { outcome: r.outcome, state: r.state, until: r.until, transitions: r.transitions });
      return true;
    }
    const action = rest[2] as OperatorAction;
    if (!(OPERATOR_ACTIONS as readonly string[]).includes(action)) throw new HttpError(404, `no route ${req.method} ${url.pathname} (actions: ${OPERATOR_ACTIONS.join(', ')}, trial)`);
    method(req, 'POST');
    requireAdmin(req, deps.adminToken);
    onlyParams(url, []);
    if (!ref.ok) throw new HttpError(400, ref.error);
    const body = checkOperatorRequest(action, await readJson(req));
    if (!body.ok) throw new HttpError(400, body.error);
    const { scope, id } = ref.value;
    const { actor, reason, ttlSeconds } = body.value;
    let r: OverrideResult;
    try {
      r = action === 'reset'
        ? await deps.store.reset(scope, id, actor, reason)
        : await deps.store.force(scope, id, { mode: action === 'force-open' ? 'forced_open' : 'forced_closed', actor, note: reason, ttlMs: ttlSeconds! * 1000 });
    } catch (e) {
      if (isBreakerError(e) && e.code === 'not_found') throw new HttpError(404, `no breaker ${scope}/${id} to reset (it is closed)`);
      if (isBreakerError(e) && (e.code === 'write_abandoned' || e.code === 'deadline_passed')) {
        throw new HttpError(503, abandonedMessage(action, scope, id, e), { 'retry-after': '5' });
      }
      throw e;
    }
    // The write is done: a slow read-back must not turn it into an error (or hang the answer).
    const b = await withTimeout(deps.store.get(scope, id), deps.store.writeDeadlineMs, 'reading the breaker back').catch(() => undefined);
    sendJson(res, 200, { breaker: b ? breakerView(b, r.transitions.at(-1)?.at ?? Date.now()) : null, transitions: r.transitions, audit: r.audit });
    return true;
  }
  return false;
}
