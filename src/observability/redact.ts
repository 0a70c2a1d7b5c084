import { createHash } from 'node:crypto';
import { maskPii } from '../../processors/shared/pii.ts';

/**
 * Keeps secrets and personal data out of logs: the logger passes every message, field and error text through here.
 * - credentials in URLs (`redis://vigil:pw@host`, `smtp://user:pw@host`) become `user:***@`;
 * - `password=`, `token=`, `secret=`… query or key=value pairs keep their name, not their value;
 * - `Bearer <token>` keeps the word only;
 * - a field whose name says it holds a secret (password, secret, token, authorization, apiKey,
 *   credentials, sasl) is replaced whole;
 * - e-mail addresses, phone numbers and card numbers become `[email]`, `[phone]`, `[card]`
 *   (processors/shared/pii.ts), and `user:<id>` becomes `user:#<hash>` (pseudonym).
 */

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@]*):([^\s/@]*)@/gi;
const SECRET_PAIR = /\b(password|passwd|pwd|pass|token|secret|api[_-]?key|access[_-]?token|auth)=([^&\s"',;]+)/gi;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/g;
const SECRET_NAME = /(password|passwd|secret|token|authorization|api[_-]?key|credential|sasl|private[_-]?key)/i;

/** A breaker or subject reference to a user, `user:<id>` (the form vigil's messages use). */
const USER_REF = /(?<![\w/.@-])user:([^\s{}:,;"'\])]+)/g;

/** The text with credentials masked (URLs, key=value pairs, bearer tokens). */
export function redactSecrets(text: string): string {
  if (text.length === 0) return text;
  return text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:***@`).replace(SECRET_PAIR, '$1=***').replace(BEARER, '$1 ***');
}

/** The text with credentials masked, personal data masked, and user ids pseudonymised (for logs). */
export function redact(text: string): string {
  if (text.length === 0) return text;
  return maskPii(redactSecrets(text)).replace(USER_REF, (_m, id: string) => `user:${pseudonym(id)}`);
}

/**
 * A user id as logs show it: `#` and 8 hex digits of its SHA-256, the same for the same id, so lines
 * about one user can be followed without the id being in the log. (The id and the evidence stay on
 * the Kafka audit topics, whose access is controlled.)
 */
export function pseudonym(id: string): string {
  return id.startsWith('#') && id.length === 9 ? id : `#${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}

/** True when a field of this name holds a secret (its value is never logged). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A copy of log fields with secrets masked (strings, and plain objects and arrays a few levels deep). */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = isSecretName(k) && v !== undefined && v !== null && typeof v !== 'boolean' ? '[redacted]' : redactValue(v, 0);
  return out;
}

function redactValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redact(v);
  if (depth >= 4 || typeof v !== 'object' || v === null || v instanceof Error) return v;
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = isSecretName(k) && x !== undefined && x !== null && typeof x !== 'boolean' ? '[redacted]' : redactValue(x, depth + 1);
  return out;
}
