import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { ValidEvent } from '../../processors/core/events.ts';
import { validateEvent, InvalidEventError } from '../../processors/core/validate-event.ts';
import { VigilError } from '../errors/vigil-error.ts';
import { registryStatus, RegistryUnavailableError } from './schema-registry.ts';

/** Why a value was refused; the DLQ's `vigil-dlq-reason` header. */
export type BadEventReason =
  | 'empty'
  | 'oversized'
  | 'undecodable'
  | 'invalid_json'
  | 'unknown_schema'
  | 'avro_decode_failed'
  | 'invalid_event';

/** A value that can never become a valid event: it goes to the dead-letter topic. */
export class BadEventError extends VigilError {
  readonly reason: BadEventReason;
  constructor(reason: BadEventReason, detail: string, cause?: unknown) {
    super(detail, { retriable: false, cause });
    this.reason = reason;
  }
}

const MAGIC_AVRO = 0x00;
const OPEN_BRACE = 0x7b;

/**
 * Decodes one Kafka value into a valid event: Confluent-framed Avro (magic byte 0 + 4-byte schema id,
 * schema fetched from the registry and cached) or a UTF-8 JSON object (first byte `{`).
 * @throws BadEventError (not retriable: dead-letter it) or RegistryUnavailableError (retriable).
 */
export async function decodeEvent(value: Buffer | null, registry: SchemaRegistry | undefined, maxBytes: number): Promise<ValidEvent> {
  if (value === null || value.length === 0) throw new BadEventError('empty', 'the message has no value');
  if (value.length > maxBytes) {
    throw new BadEventError('oversized', `the value is ${value.length} bytes, over the limit of ${maxBytes} (kafka.maxEventBytes)`);
  }
  let decoded: unknown;
  const first = value[0];
  if (first === OPEN_BRACE) {
    try {
      decoded = JSON.parse(value.toString('utf8'));
    } catch (e) {
      throw new BadEventError('invalid_json', `the value starts with "{" but is not valid JSON: ${(e as Error).message}`);
    }
  } else if (first === MAGIC_AVRO && value.length >= 5) {
    if (!registry) {
      throw new BadEventError('unknown_schema', 'the value is Avro (magic byte 0) but no schema registry is configured (SCHEMA_REGISTRY_URL)');
    }
    decoded = await decodeAvro(value, registry);
  } else {
    throw new BadEventError('undecodable', `the value is neither Confluent Avro (magic byte 0) nor a JSON object: first byte 0x${first!.toString(16).padStart(2, '0')}, ${value.length} bytes`);
  }
  try {
    return validateEvent(decoded);
  } catch (e) {
    if (e instanceof InvalidEventError) throw new BadEventError('invalid_event', e.message, e);
    throw e;
  }
}

async function decodeAvro(value: Buffer, registry: SchemaRegistry): Promise<unknown> {
  const schemaId = value.readUInt32BE(1);
  try {
    return await registry.decode(value);
  } catch (e) {
    const status = registryStatus(e);
    if (status === 404) throw new BadEventError('unknown_schema', `schema id ${schemaId} is not in the registry`, e);
    if (status !== undefined && status >= 500) throw new RegistryUnavailableError(`schema registry answered ${status} for schema id ${schemaId}`, e);
    if (status === undefined && isNetworkError(e)) {
      throw new RegistryUnavailableError(`schema registry unreachable fetching schema id ${schemaId}: ${(e as Error).message}`, e);
    }
    if (status !== undefined) throw new BadEventError('unknown_schema', `schema registry refused schema id ${schemaId}: HTTP ${status}`, e);
    throw new BadEventError('avro_decode_failed', `Avro value with schema id ${schemaId} cannot be decoded: ${(e as Error).message}`, e);
  }
}

function isNetworkError(e: unknown): boolean {
  const code = (e as { code?: unknown; cause?: { code?: unknown } })?.code ?? (e as { cause?: { code?: unknown } })?.cause?.code;
  const msg = String((e as Error)?.message ?? '');
  return (typeof code === 'string' && /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NOTFOUND|PIPE)/.test(code)) ||
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|fetch failed|network/i.test(msg);
}

/**
 * Encodes an event for `agent.actions`: Avro with the registered schema id when a registry is given,
 * else JSON. Absent optional fields become Avro nulls.
 */
export async function encodeEvent(event: Record<string, unknown>, avro?: { registry: SchemaRegistry; schemaId: number; fields: readonly string[] }): Promise<Buffer> {
  if (!avro) return Buffer.from(JSON.stringify(event));
  const record: Record<string, unknown> = {};
  for (const f of avro.fields) record[f] = event[f] ?? null;
  const action = record.action as Record<string, unknown> | null;
  if (action) record.action = { amountMinor: null, currency: null, ...action };
  const outcome = record.outcome as Record<string, unknown> | null;
  if (outcome) record.outcome = { httpStatus: null, errorCode: null, latencyMs: null, vendorRef: null, ...outcome };
  const comp = record.compensation as Record<string, unknown> | null;
  if (comp) record.compensation = { reason: null, ...comp };
  return avro.registry.encode(avro.schemaId, record);
}
