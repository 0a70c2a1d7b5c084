import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type { Config } from '../config/config.ts';
import { VigilError } from '../errors/vigil-error.ts';
import { avroSchema } from './schemas.ts';
import { redact } from '../observability/redact.ts';

/** The registry could not be reached or answered with a server error: retry later. */
export class RegistryUnavailableError extends VigilError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
  }
}

export interface RegisteredSchemas {
  registry: SchemaRegistry;
  /** Schema id per file stem (agent-action, finding, …). */
  ids: Record<string, number>;
}

/** HTTP status of a registry client error, if it carries one. */
export function registryStatus(e: unknown): number | undefined {
  const s = (e as { status?: unknown })?.status;
  return typeof s === 'number' ? s : undefined;
}

/** How to reach the registry: its URL, and HTTP basic credentials and a CA to trust when it needs them. */
export interface RegistryConnection {
  url: string;
  auth?: { username: string; password: string } | undefined;
  /** A PEM CA file for an https:// registry whose certificate the system does not trust. */
  caFile?: string | undefined;
}

/** The registry connection of a configuration, or undefined when none is configured (JSON only). */
export function registryConnection(config: Config): RegistryConnection | undefined {
  const { url, auth, caFile } = config.schemaRegistry;
  return url === undefined ? undefined : { url, auth, caFile };
}

/** The client's arguments for a connection: basic auth, and an agent trusting the CA for https. */
function clientArgs(conn: RegistryConnection): ConstructorParameters<typeof SchemaRegistry>[0] {
  return {
    host: conn.url,
    retry: { retries: 3, initialRetryTimeInSecs: 0.2 },
    ...(conn.auth ? { auth: conn.auth } : {}),
    ...(agentOf(conn) ? { agent: agentOf(conn) as never } : {}),
  };
}

const agents = new Map<string, HttpsAgent>();
function agentOf(conn: RegistryConnection): HttpsAgent | undefined {
  if (!conn.caFile || !conn.url.startsWith('https:')) return undefined;
  let a = agents.get(conn.caFile);
  if (!a) agents.set(conn.caFile, (a = new HttpsAgent({ ca: readFileSync(conn.caFile, 'utf8'), keepAlive: true })));
  return a;
}

/** A registry client for a connection (a URL alone is a connection without credentials). */
export function createRegistryClient(conn: RegistryConnection | string): SchemaRegistry {
  return new SchemaRegistry(clientArgs(typeof conn === 'string' ? { url: conn } : conn));
}

/**
 * Registers each schema under `<topic>-value` (TopicNameStrategy) with BACKWARD compatibility: an
 * incompatible change to a schema file is refused at start, with the registry's reason.
 */
export async function registerSchemas(connection: RegistryConnection | string, subjects: Record<string, string>): Promise<RegisteredSchemas> {
  const conn = typeof connection === 'string' ? { url: connection } : connection;
  const url = conn.url;
  const registry = createRegistryClient(conn);
  const ids: Record<string, number> = {};
  for (const [stem, topic] of Object.entries(subjects)) {
    const subject = `${topic}-value`;
    const schema = { type: SchemaType.AVRO, schema: JSON.stringify(avroSchema(stem)) } as const;
    const register = async () => (await registry.register(schema, { subject, compatibility: COMPATIBILITY.BACKWARD })).id;
    for (let attempt = 1; ; attempt++) {
      try {
        try {
          ids[stem] = await register();
        } catch (e) {
          if ((e as Error).name !== 'ConfluentSchemaRegistryCompatibilityError') throw e;
          // The subject exists with another (or no explicit) rule: set BACKWARD on it, then register.
          await setCompatibility(conn, subject, 'BACKWARD');
          ids[stem] = await register();
        }
        break;
      } catch (e) {
        // Another instance created the subject (or its rule) at the same moment: registering again
        // finds it. Apicurio says "A rule named 'COMPATIBILITY' already exists" (HTTP 409).
        if (attempt < 5 && lostCreateRace(e)) {
          await new Promise((r) => setTimeout(r, 50 * attempt + Math.floor(Math.random() * 50)));
          continue;
        }
        throw e instanceof VigilError ? e : wrapRegistryError(e, `registering schemas/${stem}.avsc as ${subject} at ${url}`);
      }
    }
  }
  return { registry, ids };
}

/** A registration refused because another client created the same subject or rule concurrently. */
function lostCreateRace(e: unknown): boolean {
  return registryStatus(e) === 409 || /already exists/i.test((e as Error)?.message ?? '');
}

async function setCompatibility(conn: RegistryConnection, subject: string, level: string): Promise<void> {
  const target = new URL(`${conn.url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`);
  const body = JSON.stringify({ compatibility: level });
  const headers: Record<string, string | number> = { 'content-type': 'application/vnd.schemaregistry.v1+json', 'content-length': Buffer.byteLength(body) };
  if (conn.auth) headers.authorization = `Basic ${Buffer.from(`${conn.auth.username}:${conn.auth.password}`).toString('base64')}`;
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, { method: 'PUT', headers, ...(agentOf(conn) ? { agent: agentOf(conn) } : {}) }, (res) => {
      let t = '';
      res.setEncoding('utf8').on('data', (c: string) => (t += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
    });
    req.on('error', (e) => reject(new RegistryUnavailableError(`setting ${level} on ${subject} failed: ${e.message}`, e)));
    req.end(body);
  });
  if (status < 200 || status >= 300) {
    const msg = `setting ${level} on ${subject} failed: HTTP ${status} ${text.slice(0, 500)}`;
    throw status >= 500 ? new RegistryUnavailableError(msg) : new VigilError(msg, { retriable: false });
  }
}

export function wrapRegistryError(e: unknown, doing: string): Error {
  const status = registryStatus(e);
  const msg = redact(`${doing}: ${(e as Error)?.message ?? String(e)}`);
  if (status === undefined || status >= 500) return new RegistryUnavailableError(msg, e);
  return new VigilError(msg, { retriable: false, cause: e });
}
