import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { CompensationCommand } from '../compensation/plan-compensation.ts';

/** Avro through the registry (schemas/compensation-command.avsc) when given, else JSON. */
export interface CommandCodecOptions {
  avro?: { registry: SchemaRegistry; schemaId: number };
}

/** The Kafka message of a compensation command: keyed by forEventId, its ids in headers too. */
export async function commandMessage(c: CompensationCommand, opts: CommandCodecOptions): Promise<{ key: string; value: Buffer; headers: Record<string, string> }> {
  const value = opts.avro ? await opts.avro.registry.encode(opts.avro.schemaId, c) : Buffer.from(JSON.stringify(c));
  return {
    key: c.forEventId,
    value,
    headers: { 'vigil-command-id': c.commandId, 'vigil-idempotency-key': c.idempotencyKey, 'vigil-compensation-kind': c.kind },
  };
}

/** Reads a command message's value: Confluent-framed Avro (first byte 0) through the registry, or JSON. */
export async function decodeCommand(value: Buffer, registry: SchemaRegistry | undefined): Promise<CompensationCommand> {
  if (value[0] === 0) {
    if (!registry) throw new Error('an Avro compensation command, and no schema registry to read it');
    return (await registry.decode(value)) as CompensationCommand;
  }
  return JSON.parse(value.toString('utf8')) as CompensationCommand;
}

/**
 * A kafkajs `eachMessage` for a topic of commands: each value decoded (decodeCommand) and handed to
 * `handle`; an empty value is skipped, and one that cannot be read is reported to `unreadable` and
 * skipped (a bad command must not stop the consumer behind it).
 */
export function eachCommand(
  registry: SchemaRegistry | undefined,
  handle: (c: CompensationCommand) => Promise<unknown>,
  unreadable: (offset: string, error: Error) => void,
): (p: { message: { value: Buffer | null; offset: string } }) => Promise<void> {
  return async ({ message }) => {
    if (!message.value) return;
    let c: CompensationCommand;
    try {
      c = await decodeCommand(message.value, registry);
    } catch (e) {
      unreadable(message.offset, e as Error);
      return;
    }
    await handle(c);
  };
}
