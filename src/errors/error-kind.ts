/**
 * What an error says about retrying, for the loops that must decide between "wait and try again" and
 * "give up on this input":
 *
 * - `transient`: the environment, not the input: a dependency down, slow, refusing or misconfigured
 *   (Redis, Kafka, the registry, SMTP). Retry without limit, with backoff; never dead-letter for it.
 * - `permanent`: the error says retrying cannot help (`retriable: false`), or Kafka refused the data
 *   itself (a record too large, corrupt). Give up on the input at once.
 * - `unknown`: anything else, typically a bug (TypeError, RangeError). Retry a few times (it may be a
 *   race), then treat as permanent.
 */
export type ErrorKind = 'transient' | 'permanent' | 'unknown';

type Obj = {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  type?: unknown;
  retriable?: unknown;
  isVigilError?: unknown;
  cause?: unknown;
  errors?: unknown;
};

/** Node, undici (fetch), nodemailer and TLS codes of a connection that failed or timed out. */
const CONNECTIVITY_CODE = /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENETDOWN|ENOTFOUND|EAI_AGAIN|EPIPE|EADDRNOTAVAIL|ECONNECTION|ESOCKET|EDNS|EAUTH|UND_ERR_|ERR_SOCKET_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/** ioredis's own errors while the connection is down (commands refused or timed out). */
const REDIS_CONNECTION_MESSAGE = /^(Connection is closed|Stream isn't writeable|Command timed out|Reached the max retries per request limit|connect ETIMEDOUT|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready)/;

/** Redis replies that mean "not now" or "not allowed": the server's state or set-up, not the data. */
const REDIS_ENVIRONMENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS|NOPERM|OOM|NOREPLICAS|MISCONF|NOSCRIPT)\b/;

/** Kafka protocol errors caused by the record itself: the only Kafka errors that are the input's fault. */
const KAFKA_DATA_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

/** Classifies an error (its cause chain too, a few levels deep). */
export function errorKind(e: unknown): ErrorKind {
  return kindOf(e, 0);
}

function kindOf(e: unknown, depth: number): ErrorKind {
  if (typeof e !== 'object' || e === null) return 'unknown';
  const o = e as Obj;
  const name = typeof o.name === 'string' ? o.name : '';
  // vigil's own errors say what they are.
  if (o.isVigilError === true && typeof o.retriable === 'boolean') return o.retriable ? 'transient' : 'permanent';
  // kafkajs: everything is the broker or the set-up, except a record the broker refuses as such. (Its
  // `retriable` flag is false after its own retries ran out, which is exactly an outage.)
  if (name.startsWith('KafkaJS')) return typeof o.type === 'string' && KAFKA_DATA_ERRORS.has(o.type) ? 'permanent' : 'transient';
  if (typeof o.code === 'string' && CONNECTIVITY_CODE.test(o.code)) return 'transient';
  const message = typeof o.message === 'string' ? o.message : '';
  if (name === 'MaxRetriesPerRequestError' || name === 'AbortError' || name === 'TimeoutError') return 'transient';
  if (REDIS_CONNECTION_MESSAGE.test(message)) return 'transient';
  if (name === 'ReplyError' && REDIS_ENVIRONMENT_REPLY.test(message)) return 'transient';
  if (typeof o.retriable === 'boolean') return o.retriable ? 'transient' : 'permanent';
  if (depth < 4) {
    // A wrapper (fetch's "TypeError: fetch failed", an AggregateError) is as transient as what it wraps.
    if (o.cause !== undefined && kindOf(o.cause, depth + 1) === 'transient') return 'transient';
    if (Array.isArray(o.errors) && o.errors.some((x) => kindOf(x, depth + 1) === 'transient')) return 'transient';
  }
  return 'unknown';
}
