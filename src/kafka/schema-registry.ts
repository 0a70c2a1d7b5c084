import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { VigilError } from '../errors/vigil-error.ts';
import { avroSchema } from './schemas.ts';

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

/**
 * Registers each schema under `<topic>-value` (TopicNameStrategy) with BACKWARD compatibility: an
 * incompatible change to a schema file is refused at start, with the registry's reason.
 */
export async function registerSchemas(url: string, subjects: Record<string, string>): Promise<RegisteredSchemas> {
  const registry = new SchemaRegistry({ host: url, retry: { retries: 3, initialRetryTimeInSecs: 0.2 } });
  const ids: Record<string, number> = {};
  for (const [stem, topic] of Object.entries(subjects)) {
    const subject = `${topic}-value`;
    const schema = { type: SchemaType.AVRO, schema: JSON.stringify(avroSchema(stem)) } as const;
    try {
      ids[stem] = (await registry.register(schema, { subject, compatibility: COMPATIBILITY.BACKWARD })).id;
    } catch (e) {
      if ((e as Error).name === 'ConfluentSchemaRegistryCompatibilityError') {
        // The subject exists with another (or no explicit) rule: set BACKWARD on it, then register.
        await setCompatibility(url, subject, 'BACKWARD');
        ids[stem] = (await registry.register(schema, { subject, compatibility: COMPATIBILITY.BACKWARD })).id;
      } else {
        throw wrapRegistryError(e, `registering schemas/${stem}.avsc as ${subject} at ${url}`);
      }
    }
  }
  return { registry, ids };
}

async function setCompatibility(url: string, subject: string, level: string): Promise<void> {
  const res = await fetch(`${url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  });
  if (!res.ok) throw new RegistryUnavailableError(`setting ${level} on ${subject} failed: HTTP ${res.status} ${await res.text()}`);
}

export function wrapRegistryError(e: unknown, doing: string): Error {
  const status = registryStatus(e);
  const msg = `${doing}: ${(e as Error)?.message ?? String(e)}`;
  if (status === undefined || status >= 500) return new RegistryUnavailableError(msg, e);
  return new VigilError(msg, { retriable: false, cause: e });
}
