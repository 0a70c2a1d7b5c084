import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CheckAnswer } from '@vigil/breaker-client/protocol';
import type { CheckOptions, CheckQuery } from '@vigil/breaker-client';
import type { BreakerStore } from '../breakers/breaker-store.ts';
import type { Logger } from '../observability/logger.ts';

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
  /** Operator actions per client address (rate-limit.ts); absent or perMinute 0: no limit. */
  adminRateLimit?: { perMinute: number; burst: number };
  /**
   * What the monitor knows of its dependencies (DependencyProbe): /readyz answers 503 naming those that
   * are down, and shows each one's last answer.
   */
  dependencies?: { down(): string[]; states(): unknown };
  /** Where a 500 (a bug) is logged at error, with its stack; default: stderr as JSON. */
  logger?: Logger;
  /** More routes (the operator console): true when one answered. */
  routes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
}
