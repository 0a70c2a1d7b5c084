import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { expect } from 'vitest';

/**
 * The conformance vectors of the breaker protocol (docs/breaker-protocol.vectors.json) and what every
 * runner shares: writing a vector's hashes under a prefix, and checking the hash fields after a check.
 * The Node client, the HTTP API and the Lua path run them here; the Python client in clients/python.
 */
export interface Ref {
  scope: 'global' | 'vendor' | 'agent' | 'user' | 'action';
  id: string;
}
export interface AfterFields extends Ref {
  /** null: the field must be absent. */
  fields: Record<string, string | null>;
}
export interface Vector {
  name: string;
  why: string;
  now: number;
  breakers: (Ref & { hash: Record<string, string> })[];
  check: { vendor?: string; agent?: string; user?: string; action?: string };
  expect: { allowed: boolean; blockingScope: Ref | null; state: string; retryAfterMs: number | null; permits: Ref[] };
  scopes: (Ref & { verdict: 'allow' | 'deny' | 'trial'; retryAfterMs?: number | null })[];
  after?: AfterFields[];
  report?: { success: boolean; after: AfterFields[] };
}

export const VECTORS_PATH = new URL('../../docs/breaker-protocol.vectors.json', import.meta.url);

export function loadVectors(): Vector[] {
  const doc = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as { protocolVersion: number; vectors: Vector[] };
  if (doc.protocolVersion !== 1 || !Array.isArray(doc.vectors) || doc.vectors.length === 0) throw new Error('docs/breaker-protocol.vectors.json: no protocol-1 vectors');
  return doc.vectors;
}

export const stateKey = (prefix: string, r: Ref) => `${prefix}:brk:{${r.scope}:${r.id}}:state`;

/** Writes the vector's breaker hashes under `prefix` (HSET, as a foreign writer would). */
export async function writeBreakers(redis: Redis | Cluster, prefix: string, v: Vector): Promise<void> {
  for (const b of v.breakers) await redis.hset(stateKey(prefix, b), b.hash);
}

/** Checks the stored hash fields named in `after` (null: absent). */
export async function expectFields(redis: Redis | Cluster, prefix: string, after: AfterFields[] | undefined, what: string): Promise<void> {
  for (const a of after ?? []) {
    const h = await redis.hgetall(stateKey(prefix, a));
    const got = Object.fromEntries(Object.keys(a.fields).map((f) => [f, h[f] ?? null]));
    expect(got, `${what}: ${a.scope}:${a.id}`).toEqual(a.fields);
  }
}

/** Deletes the breaker keys a vector may have touched. */
export async function deleteBreakers(redis: Redis | Cluster, prefix: string, v: Vector): Promise<void> {
  const refs: Ref[] = [{ scope: 'global', id: 'all' }, ...(['vendor', 'agent', 'user', 'action'] as const).flatMap((s) => (v.check[s] ? [{ scope: s, id: v.check[s]! }] : []))];
  await Promise.all(refs.map((r) => redis.del(stateKey(prefix, r))));
}
