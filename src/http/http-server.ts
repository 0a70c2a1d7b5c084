import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import type { CheckAnswer } from '@vigil/breaker-client/protocol';
import type { CheckOptions, CheckQuery } from '@vigil/breaker-client';
import { handleBreakerRoute } from './breaker-routes.ts';

/** What the HTTP API needs: the breakers, a checker (the upstream client), the admin token. */
export interface HttpDeps {
  store: BreakerStore;
  checker: { check(q: CheckQuery, opts?: CheckOptions): Promise<CheckAnswer> };
  /** config.http.adminToken: without one, every operator action is refused (403). */
  adminToken: string | undefined;
  /**
   * config.http.clientToken, the upstream services' token: POST …/trial needs it (without one configured,
   * trial reports are refused), and GET …/check takes half-open trial permits only for a caller bearing it.
   */
  clientToken?: string | undefined;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Readiness probe; default: Redis answers PING within 1 s. */
  ready?: () => Promise<void>;
  /** Shown as `details` in /readyz (`vigil run`: where event time stands). */
  details?: () => unknown;
}

/** An error answer: status and a message saying what is wrong. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const MAX_BODY = 16 * 1024;

/** Reads a JSON body (at most 16 KiB). */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `body is larger than ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'body must be a JSON object {actor, reason, ttlSeconds}; it is empty');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The bearer token of a request, undefined without an Authorization header; 401 for a malformed one. */
export function bearerToken(req: IncomingMessage, what: string): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new HttpError(401, `the Authorization header must be "Bearer <${what}>"`, { 'www-authenticate': 'Bearer realm="vigil"' });
  return m[1]!;
}

/** Whether `token` is `expected` (constant time). */
export function tokenIs(token: string, expected: string): boolean {
  return timingSafeEqual(digest(token), digest(expected));
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

async function defaultReady(store: BreakerStore): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('Redis did not answer PING within 1 s')), 1000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the HTTP API (node:http, no framework): /healthz, /readyz and /v1/breakers… (breaker-routes.ts).
 * Resolves once listening.
 */
export async function startHttpServer(deps: HttpDeps): Promise<{ port: number; close(): Promise<void> }> {
  const ready = deps.ready ?? (() => defaultReady(deps.store));
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (url.pathname === '/healthz') {
          if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' });
          return sendJson(res, 200, { status: 'ok' });
        }
        if (url.pathname === '/readyz') {
          if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' });
          const details = deps.details?.();
          try {
            await ready();
          } catch (e) {
            return sendJson(res, 503, { status: 'not_ready', reason: (e as Error).message, ...(details !== undefined ? { details } : {}) });
          }
          return sendJson(res, 200, { status: 'ready', ...(details !== undefined ? { details } : {}) });
        }
        if (await handleBreakerRoute(req, res, url, deps)) return;
        throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      } catch (e) {
        if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message }, e.headers);
        return sendJson(res, 503, { error: `unavailable: ${(e as Error).message}` });
      }
    })();
  });
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
