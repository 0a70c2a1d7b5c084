import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/config.ts';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import { SagaStore } from '../compensation/saga-store.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { createRegistryClient, registryConnection } from '../kafka/schema-registry.ts';
import { IncidentStore } from '../notify/incident-store.ts';
import { silentLogger } from '../observability/logger.ts';
import { readConsoleState, runbookLink, RUNBOOK_DIR, type ConsoleSources } from './console-data.ts';
import { FindingsTail } from './findings-tail.ts';
import { HttpError, sendJson } from './http-io.ts';

/**
 * The operator console: a page served by `vigil run` on its HTTP port (no build step, no CDN, no
 * framework). It shows open breakers (reason, evidence, time left), incidents with their runbooks
 * and compensations, and recent findings, live (server-sent events, with polling as a fallback); its
 * force-open / force-close / reset forms call the breaker API's admin routes with the operator's
 * token (same auth and rate limit). Every event-derived string is put in the page as text (the
 * script never writes HTML), and the Content-Security-Policy allows only the page's own script.
 *
 *   GET /console                   the page
 *   GET /console/console.js|.css   its script and style
 *   GET /console/state             the state as JSON
 *   GET /console/events            the state as server-sent events (every 2 s)
 *   GET /console/runbooks/<kind>.md  the runbook of an anomaly kind (text)
 */

const ASSETS: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [
    ['/console', 'index.html', 'text/html; charset=utf-8'],
    ['/console/console.js', 'console.js', 'text/javascript; charset=utf-8'],
    ['/console/console.css', 'console.css', 'text/css; charset=utf-8'],
    ['/console/favicon.svg', 'favicon.svg', 'image/svg+xml'],
  ].map(([path, file, type]) => [path!, { type: type!, body: readFileSync(new URL(`./console/${file}`, import.meta.url)) }]),
);

/** The page may run its own script and style and talk to its own origin; nothing else. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export const SSE_INTERVAL_MS = 2000;

export interface ConsoleRoutes {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  close(): Promise<void>;
}

/** The console of a breaker API: reads Redis through `store`'s connection and tails the findings topic (started on first look). */
export function createConsoleRoutes(config: Config, store: BreakerStore): ConsoleRoutes {
  let tail: FindingsTail | undefined;
  const findings = () => {
    if (!tail) {
      const conn = registryConnection(config);
      tail = new FindingsTail({
        kafka: createKafka(config, silentLogger, '-console'),
        topic: config.kafka.topics.findings,
        groupPrefix: config.kafka.groupId,
        registry: conn ? createRegistryClient(conn) : undefined,
      });
    }
    return { list: tail.latest(), problem: tail.problem };
  };
  const sources: ConsoleSources = {
    breakers: store,
    incidents: new IncidentStore(store.redis, store.keys),
    sagas: new SagaStore(store.redis, store.keys),
    findings,
    runbookBaseUrl: config.notify.runbookBaseUrl,
  };
  const streams = new Set<ServerResponse>();

  return {
    async handle(req, res, url) {
      const path = url.pathname;
      if (path !== '/console' && !path.startsWith('/console/')) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET', { allow: 'GET' });
      const asset = ASSETS[path];
      if (asset) {
        res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, ...SECURITY_HEADERS });
        res.end(req.method === 'HEAD' ? undefined : asset.body);
        return true;
      }
      if (path === '/console/state') {
        sendJson(res, 200, await readConsoleState(sources), SECURITY_HEADERS);
        return true;
      }
      if (path === '/console/events') {
        stream(res);
        return true;
      }
      const m = /^\/console\/runbooks\/([a-z_]+)\.md$/.exec(path);
      if (m && runbookLink(m[1]!, undefined) !== undefined) {
        const body = readFileSync(`${RUNBOOK_DIR}${m[1]}.md`);
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length, ...SECURITY_HEADERS });
        res.end(req.method === 'HEAD' ? undefined : body);
        return true;
      }
      throw new HttpError(404, `no console page ${path}`);
    },
    async close() {
      for (const r of streams) r.end();
      streams.clear();
      await tail?.stop();
    },
  };

  function stream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', ...SECURITY_HEADERS });
    res.write(`retry: ${SSE_INTERVAL_MS}\n\n`);
    streams.add(res);
    let busy = false;
    const push = async () => {
      if (busy) return;
      busy = true;
      try {
        // JSON has no raw line breaks, so one data: line carries the whole state
        res.write(`event: state\ndata: ${JSON.stringify(await readConsoleState(sources))}\n\n`);
      } catch (e) {
        res.write(`event: problem\ndata: ${JSON.stringify({ error: (e as Error).message })}\n\n`);
      } finally {
        busy = false;
      }
    };
    void push();
    const timer = setInterval(() => void push(), SSE_INTERVAL_MS);
    res.on('close', () => {
      clearInterval(timer);
      streams.delete(res);
    });
  }
}
