import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import { handleBreakerRoute } from './breaker-routes.ts';
import type { HttpDeps } from './http-deps.ts';
import { HttpError, sendJson } from './http-io.ts';
import { isOperatorAction } from './operator-paths.ts';
import { RateLimiter } from './rate-limit.ts';
import { randomUUID } from 'node:crypto';
import { withTimeout } from '../errors/timeout.ts';
import { isRetriable } from '../errors/vigil-error.ts';
import { createLogger } from '../observability/logger.ts';

export type { HttpDeps };


function defaultReady(store: BreakerStore): Promise<unknown> {
  return withTimeout(store.redis.ping(), 1000, () => new Error('Redis did not answer PING within 1 s'));
}

/**
 * Starts the HTTP API (node:http, no framework): /healthz, /readyz and /v1/breakers… (breaker-routes.ts).
 * Resolves once listening.
 */
export async function startHttpServer(deps: HttpDeps): Promise<{ port: number; close(): Promise<void> }> {
  const ready = deps.ready ?? (() => defaultReady(deps.store));
  const log = deps.logger ?? createLogger({}, { component: 'http' });
  const limiter = deps.adminRateLimit && deps.adminRateLimit.perMinute > 0 ? new RateLimiter(deps.adminRateLimit) : undefined;
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = requestTarget(req.url);
        if (limiter && isOperatorAction(req, url)) {
          // before the token is checked: guessing tokens is limited too
          const r = limiter.take(req.socket.remoteAddress ?? 'unknown');
          if (!r.allowed) throw new HttpError(429, `too many operator actions from this address: retry in ${r.retryAfterSeconds} s`, { 'retry-after': String(r.retryAfterSeconds) });
        }
        if (url.pathname === '/healthz') {
          if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' });
          return sendJson(res, 200, { status: 'ok' });
        }
        if (url.pathname === '/readyz') {
          if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' });
          const details = deps.details?.();
          const extra = { ...(deps.dependencies ? { dependencies: deps.dependencies.states() } : {}), ...(details !== undefined ? { details } : {}) };
          const down = deps.dependencies?.down() ?? [];
          if (down.length > 0) {
            return sendJson(res, 503, { status: 'not_ready', reason: `dependency down: ${down.join(', ')}`, down, ...extra });
          }
          try {
            await ready();
          } catch (e) {
            return sendJson(res, 503, { status: 'not_ready', reason: (e as Error).message, ...(deps.ready ? {} : { down: ['redis'] }), ...extra });
          }
          return sendJson(res, 200, { status: 'ready', ...extra });
        }
        if (await handleBreakerRoute(req, res, url, deps)) return;
        if (deps.routes && (await deps.routes(req, res, url))) return;
        throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      } catch (e) {
        if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message }, e.headers);
        // A dependency down or slow (the error says it is retriable): 503, try again later.
        if (isRetriable(e)) return sendJson(res, 503, { error: `unavailable: ${(e as Error).message}` }, { 'retry-after': RETRY_AFTER_SECONDS });
        // Anything else is a bug: logged with its stack under an id; the answer carries only the id.
        const errorId = randomUUID();
        log.error('HTTP request failed: internal error', { errorId, method: req.method, path: safePath(req.url), error: e });
        return sendJson(res, 500, { error: 'internal error: it is logged with this errorId', errorId });
      }
    })();
  });
  server.on('clientError', answerMalformed);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Retry-After of a 503 for a dependency that is down (seconds). */
const RETRY_AFTER_SECONDS = '5';

/** The path of a request for a log line: without its query (which may carry user ids). */
function safePath(target: string | undefined): string {
  return (target ?? '').split('?')[0]!.slice(0, 200);
}

/** A request Node's HTTP parser refuses (malformed, headers too large): a JSON error too, not a bare 400. */
function answerMalformed(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  // A response already under way on this socket (the unread rest of a refused request's body parsed as
  // a next request): another answer would corrupt it; close, as Node's own handler does.
  const sent = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!socket.writable || sent) return void socket.destroy();
  const [status, text] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
  // an answer to HEAD has no body (the request was not parsed, but its first bytes say which it was)
  const head = String((err as { rawPacket?: unknown }).rawPacket ?? '').startsWith('HEAD ');
  const body = head ? '' : JSON.stringify({ error: `malformed HTTP request: ${err.code ?? err.message}` });
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** The request's path and query as a URL; 400 when it is not an origin-form target (`//x`, `*`, garbage). */
function requestTarget(target: string | undefined): URL {
  if (target === undefined || !target.startsWith('/')) throw new HttpError(400, 'the request target must be a path starting with /');
  try {
    // prefixed, not resolved against a base: "//x" is then a path, not another host
    return new URL(`http://localhost${target}`);
  } catch {
    throw new HttpError(400, 'the request target is not a valid path');
  }
}
