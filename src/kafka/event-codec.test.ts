import { readFileSync } from 'node:fs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { decodeEvent, BadEventError, EventDecoder } from './event-codec.ts';
import { createRegistryClient, RegistryUnavailableError } from './schema-registry.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const event = {
  eventId: 'e1', type: 'intent.parsed', occurredAt: '2026-11-20T10:00:00.000Z', userId: 'u_1', agentId: 'a', agentVersion: '1',
  intentId: 'i1', action: { name: 'cart.add', vendor: 'v', riskTier: 'low', stateChanging: false },
};

async function reason(value: Buffer | null, max = 65536): Promise<string> {
  try {
    await decodeEvent(value, undefined, max);
  } catch (e) {
    expect(e).toBeInstanceOf(BadEventError);
    expect((e as BadEventError).retriable).toBe(false);
    return `${(e as BadEventError).reason}: ${(e as Error).message}`;
  }
  throw new Error('expected the value to be refused');
}

describe('decodeEvent (without a registry)', () => {
  it('decodes and validates a JSON object', async () => {
    const e = await decodeEvent(Buffer.from(JSON.stringify(event)), undefined, 65536);
    expect(e.eventId).toBe('e1');
    expect(e.ts).toBe(Date.parse(event.occurredAt));
  });

  it('names each kind of bad value', async () => {
    expect(await reason(null)).toBe('empty: the message has no value');
    expect(await reason(Buffer.alloc(0))).toBe('empty: the message has no value');
    expect(await reason(Buffer.from(JSON.stringify(event)), 100)).toMatch(/^oversized: the value is \d+ bytes, over the limit of 100/);
    expect(await reason(Buffer.from('{nope'))).toMatch(/^invalid_json: /);
    expect(await reason(Buffer.from('hello'))).toBe('undecodable: the value is neither Confluent Avro (magic byte 0) nor a JSON object: first byte 0x68, 5 bytes');
    expect(await reason(Buffer.from([0, 0, 0, 0, 1, 2]))).toMatch(/^unknown_schema: the value is Avro .* no schema registry is configured/);
    expect(await reason(Buffer.from(JSON.stringify({ ...event, attempt: 'two' })))).toBe('invalid_event: attempt: must be an integer ≥ 1, got "two"');
  });
});

describe('EventDecoder (registry stand-in)', () => {
  const type = avsc.Type.forSchema(JSON.parse(readFileSync(new URL('../../schemas/agent-action.avsc', import.meta.url), 'utf8')));
  const avro = (schemaId: number, e: Record<string, unknown>) => {
    const record: Record<string, unknown> = {};
    for (const f of (type as unknown as avsc.types.RecordType).fields) record[f.name] = e[f.name] ?? null;
    record.action = { amountMinor: null, currency: null, ...(e.action as object) };
    const head = Buffer.alloc(5);
    head.writeUInt32BE(schemaId, 1);
    return Buffer.concat([head, type.toBuffer(record)]);
  };
  /** A registry that knows schema 1 and answers `fail` (an error to throw) for the other ids. */
  function fakeRegistry(fail: (id: number) => unknown = () => Object.assign(new Error('Schema not found'), { status: 404 })) {
    const asked: number[] = [];
    const registry = {
      async getSchema(id: number) {
        asked.push(id);
        if (id === 1) return type;
        throw fail(id);
      },
    } as unknown as SchemaRegistry;
    return { registry, asked };
  }
  const refusal = (decoder: EventDecoder, value: Buffer) => {
    try {
      decoder.decode(value);
    } catch (e) {
      expect(e).toBeInstanceOf(BadEventError);
      return `${(e as BadEventError).reason}: ${(e as Error).message}`;
    }
    throw new Error('expected the value to be refused');
  };

  it('decodes Avro synchronously once the batch schemas are loaded, asking the registry once per schema id', async () => {
    const { registry, asked } = fakeRegistry();
    const decoder = new EventDecoder(registry, 65536);
    const values = [avro(1, event), avro(1, { ...event, eventId: 'e2' }), Buffer.from(JSON.stringify({ ...event, eventId: 'e3' }))];
    await decoder.loadSchemas(values.map((value) => ({ value })));
    await decoder.loadSchemas(values.map((value) => ({ value }))); // a later batch: nothing to fetch
    expect(asked).toEqual([1]);
    const decoded = values.map((v) => decoder.decode(v));
    expect(decoded.map((e) => e.eventId)).toEqual(['e1', 'e2', 'e3']);
    // The same event, as Avro and as JSON: equal, optional fields absent rather than null.
    expect(decoded[0]).toStrictEqual(await decodeEvent(Buffer.from(JSON.stringify(event)), undefined, 65536));
    expect(Object.getPrototypeOf(decoded[0])).toBe(Object.prototype);
  });

  it('dead-letters an unknown schema id (and asks again in a later batch), and a body that does not decode', async () => {
    const { registry, asked } = fakeRegistry();
    const decoder = new EventDecoder(registry, 65536);
    const unknown = avro(99, event);
    await decoder.loadSchemas([{ value: unknown }, { value: unknown }]);
    expect(refusal(decoder, unknown)).toBe('unknown_schema: schema id 99 is not in the registry');
    await decoder.loadSchemas([{ value: unknown }]);
    expect(asked).toEqual([99, 99]);

    const garbage = Buffer.concat([avro(1, event), Buffer.from([1, 2, 3])]);
    await decoder.loadSchemas([{ value: garbage }]);
    expect(refusal(decoder, garbage)).toBe('avro_decode_failed: Avro value with schema id 1 cannot be decoded: trailing data');
    const invalid = avro(1, { ...event, attempt: 0 });
    await decoder.loadSchemas([{ value: invalid }]);
    expect(refusal(decoder, invalid)).toMatch(/^invalid_event: attempt: must be an integer ≥ 1, got 0/);
    expect(refusal(decoder, Buffer.from([0, 0, 0]))).toMatch(/^undecodable: /);
  });

  it('a registry that is down or failing is a retriable error, never a dead letter', async () => {
    for (const fail of [
      () => Object.assign(new Error('Internal Server Error'), { status: 503 }),
      () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    ]) {
      const decoder = new EventDecoder(fakeRegistry(fail).registry, 65536);
      const err = await decoder.loadSchemas([{ value: avro(2, event) }]).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryUnavailableError);
      expect((err as RegistryUnavailableError).retriable).toBe(true);
    }
  });

  it('a registry that accepts the request and never answers is a retriable error after the timeout, not a hang', async () => {
    const server = createServer(() => {}); // reads the request, never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const decoder = new EventDecoder(createRegistryClient(`http://127.0.0.1:${port}`), 65536, { requestTimeoutMs: 300 });
      const t0 = Date.now();
      const err = await decoder.loadSchemas([{ value: avro(3, event) }]).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryUnavailableError);
      expect((err as RegistryUnavailableError).retriable).toBe(true);
      expect((err as Error).message).toBe('schema registry did not answer within 300 ms for schema id 3');
      expect(Date.now() - t0).toBeLessThan(5000); // bounded, whatever the client's own retries
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('skips values it would refuse anyway when loading schemas (empty, oversized, JSON)', async () => {
    const { registry, asked } = fakeRegistry();
    const big = avro(5, event);
    const decoder = new EventDecoder(registry, big.length - 1);
    await decoder.loadSchemas([{ value: null }, { value: Buffer.alloc(0) }, { value: big }, { value: Buffer.from('{}') }]);
    expect(asked).toEqual([]); // the Avro one is over the limit: oversized, whatever its schema
    expect(refusal(decoder, avro(5, event))).toMatch(/^oversized: /);
  });
});
