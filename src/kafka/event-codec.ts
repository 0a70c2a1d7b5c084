import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { ValidEvent } from '../../processors/core/events.ts';
import { validateEvent, InvalidEventError } from '../../processors/core/validate-event.ts';
import { VigilError } from '../errors/vigil-error.ts';
import { registryStatus, RegistryUnavailableError } from './schema-registry.ts';
import { compileReader, type AvroRead } from './avro-reader.ts';
import avsc from 'avsc';
import { withTimeout } from '../errors/timeout.ts';

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

/** A registry schema as the client library gives it (an avsc Type for Avro). */
type Schema = Awaited<ReturnType<SchemaRegistry['getSchema']>>;

/** The writer schema of one registry id, as far as this decoder knows it; `read` when it compiles (avro-reader.ts). */
type SchemaEntry = { schema: Schema; read: AvroRead | undefined } | { refused: BadEventError };

/**
 * Decodes Kafka values into valid events, synchronously: Confluent-framed Avro (magic byte 0, a 4-byte
 * schema id, the Avro body) or a UTF-8 JSON object (first byte `{`).
 *
 * The writer schema of each Avro schema id is fetched from the registry once and kept (registry ids are
 * immutable), with a reader compiled from it (avro-reader.ts: plain objects, null fields left out);
 * loadSchemas() fetches the ones a batch needs before its values are decoded, so decoding itself never
 * waits. An id the registry refuses (unknown, 4xx) is remembered only until the next
 * loadSchemas(): its values are dead letters (`unknown_schema`) for this batch, asked about again later.
 */
export class EventDecoder {
  private readonly registry: SchemaRegistry | undefined;
  private readonly maxBytes: number;
  private readonly schemas = new Map<number, SchemaEntry>();

  private readonly requestTimeoutMs: number;

  /** `requestTimeoutMs`: the most one schema fetch may take, its retries included (default 10 s). */
  constructor(registry: SchemaRegistry | undefined, maxBytes: number, opts: { requestTimeoutMs?: number } = {}) {
    this.registry = registry;
    this.maxBytes = maxBytes;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /**
   * Fetches the writer schemas of the Avro values among `messages` that are not known yet: one registry
   * request per new schema id, whatever the number of values.
   * @throws RegistryUnavailableError (retriable) when the registry cannot answer.
   */
  async loadSchemas(messages: readonly { value: Buffer | null }[]): Promise<void> {
    for (const [id, entry] of this.schemas) if ('refused' in entry) this.schemas.delete(id);
    if (!this.registry) return;
    let missing: Set<number> | undefined;
    for (let i = 0; i < messages.length; i++) {
      const value = messages[i]!.value;
      if (value === null || value.length < 5 || value.length > this.maxBytes || value[0] !== MAGIC_AVRO) continue;
      const id = value.readUInt32BE(1);
      if (!this.schemas.has(id)) (missing ??= new Set()).add(id);
    }
    if (missing === undefined) return;
    const registry = this.registry;
    const ms = this.requestTimeoutMs;
    await Promise.all([...missing].map(async (id) => this.schemas.set(id, await fetchSchema(registry, id, ms))));
  }

  /**
   * Decodes and validates one value. An Avro value's schema must have been loaded (loadSchemas).
   * @throws BadEventError (not retriable: dead-letter it).
   */
  decode(value: Buffer | null): ValidEvent {
    if (value === null || value.length === 0) throw new BadEventError('empty', 'the message has no value');
    if (value.length > this.maxBytes) {
      throw new BadEventError('oversized', `the value is ${value.length} bytes, over the limit of ${this.maxBytes} (kafka.maxEventBytes)`);
    }
    let decoded: unknown;
    const first = value[0]!;
    if (first === OPEN_BRACE) {
      try {
        decoded = JSON.parse(value.toString('utf8'));
      } catch (e) {
        throw new BadEventError('invalid_json', `the value starts with "{" but is not valid JSON: ${(e as Error).message}`);
      }
    } else if (first === MAGIC_AVRO && value.length >= 5) {
      decoded = this.decodeAvro(value);
    } else {
      throw new BadEventError('undecodable', `the value is neither Confluent Avro (magic byte 0) nor a JSON object: first byte 0x${first.toString(16).padStart(2, '0')}, ${value.length} bytes`);
    }
    try {
      return validateEvent(decoded);
    } catch (e) {
      if (e instanceof InvalidEventError) throw new BadEventError('invalid_event', e.message, e);
      throw e;
    }
  }

  private decodeAvro(value: Buffer): unknown {
    if (!this.registry) {
      throw new BadEventError('unknown_schema', 'the value is Avro (magic byte 0) but no schema registry is configured (SCHEMA_REGISTRY_URL)');
    }
    const schemaId = value.readUInt32BE(1);
    const entry = this.schemas.get(schemaId);
    if (entry === undefined) throw new Error(`schema id ${schemaId} was not loaded before decoding (call loadSchemas first)`);
    if ('refused' in entry) throw entry.refused;
    try {
      return entry.read ? entry.read(value, 5) : entry.schema.fromBuffer(value.subarray(5));
    } catch (e) {
      throw new BadEventError('avro_decode_failed', `Avro value with schema id ${schemaId} cannot be decoded: ${(e as Error).message}`, e);
    }
  }
}

/**
 * Decodes one Kafka value into a valid event (see EventDecoder; this one-off form keeps no schemas).
 * @throws BadEventError (not retriable: dead-letter it) or RegistryUnavailableError (retriable).
 */
export async function decodeEvent(value: Buffer | null, registry: SchemaRegistry | undefined, maxBytes: number): Promise<ValidEvent> {
  const decoder = new EventDecoder(registry, maxBytes);
  await decoder.loadSchemas([{ value }]);
  return decoder.decode(value);
}

/** The writer schema of a registry id, or why it is refused. @throws RegistryUnavailableError */
async function fetchSchema(registry: SchemaRegistry, schemaId: number, timeoutMs: number): Promise<SchemaEntry> {
  try {
    // A registry that accepts the request and never answers would hold the batch (and the partition)
    // forever: past the timeout it counts as unreachable, retriable like any outage.
    const schema = await withTimeout(registry.getSchema(schemaId), timeoutMs, () => new RegistryUnavailableError(`schema registry did not answer within ${timeoutMs} ms for schema id ${schemaId}`));
    return { schema, read: avsc.Type.isType(schema) ? readerOrNone(schema as avsc.Type) : undefined };
  } catch (e) {
    if (e instanceof RegistryUnavailableError) throw e;
    const status = registryStatus(e);
    if (status === 404) return { refused: new BadEventError('unknown_schema', `schema id ${schemaId} is not in the registry`, e) };
    if (status !== undefined && status >= 500) throw new RegistryUnavailableError(`schema registry answered ${status} for schema id ${schemaId}`, e);
    if (status === undefined && isNetworkError(e)) {
      throw new RegistryUnavailableError(`schema registry unreachable fetching schema id ${schemaId}: ${(e as Error).message}`, e);
    }
    if (status !== undefined) return { refused: new BadEventError('unknown_schema', `schema registry refused schema id ${schemaId}: HTTP ${status}`, e) };
    // The registry answered, but with a schema this client cannot use.
    return { refused: new BadEventError('avro_decode_failed', `schema id ${schemaId} cannot be used to decode: ${(e as Error).message}`, e) };
  }
}

/** The compiled reader of an Avro schema; none (decode with avsc) if it cannot be compiled, whatever the reason. */
function readerOrNone(type: avsc.Type): AvroRead | undefined {
  try {
    return compileReader(type);
  } catch {
    return undefined;
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
