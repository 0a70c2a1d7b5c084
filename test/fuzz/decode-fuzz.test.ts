import avsc from 'avsc';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ValidEvent } from '../../processors/core/events.ts';
import { compileReader } from '../../src/kafka/avro-reader.ts';
import { BadEventError, EventDecoder } from '../../src/kafka/event-codec.ts';
import { registerSchemas } from '../../src/kafka/schema-registry.ts';
import { avroSchema } from '../../src/kafka/schemas.ts';
import { stackEndpoints } from '../helpers/stack-env.ts';
import { randomName } from '../helpers/wait.ts';
import { deepNesting, hostileDate, hostileString, hugeString, mutate, mutation, validEvent } from './arbitraries.ts';
import { cases, check, checkAsync, FUZZ_TIMEOUT } from './fuzz-support.ts';

/**
 * The pure part of the bad-input suite for ingest: EventDecoder.decode (the function `vigil run` calls
 * on every Kafka value) on random bytes, mutated JSON, truncated and corrupted Avro, wrong schema ids,
 * huge strings, deep nesting, invalid and hostile dates, Unicode edge cases. One registry round trip at
 * set-up (the real schema id); every case after that runs offline.
 *
 * Property: decode either returns an event that satisfies the contract, or throws BadEventError with a
 * reason and a message. Never another error (that would retry or stall ingest), never a hang.
 */
const MAX = 65_536;
/** Ids far past any the shared registry hands out. */
const WRONG_IDS = [0x7ffffff0, 2 ** 31 - 1, 2 ** 32 - 1];
let decoder: EventDecoder;
let bigDecoder: EventDecoder;
let schemaId: number;
const type = avsc.Type.forSchema(avroSchema('agent-action') as avsc.Schema);
const FIELDS = (avroSchema('agent-action').fields as { name: string }[]).map((f) => f.name);

/** The event as Avro in the Confluent frame (absent optional fields as null, as `vigil produce` writes them). */
function frame(e: Record<string, unknown>, id = schemaId): Buffer {
  const rec: Record<string, unknown> = {};
  for (const f of FIELDS) rec[f] = e[f] ?? null;
  if (rec.action) rec.action = { amountMinor: null, currency: null, ...(rec.action as object) };
  if (rec.outcome) rec.outcome = { httpStatus: null, errorCode: null, latencyMs: null, vendorRef: null, ...(rec.outcome as object) };
  if (rec.compensation) rec.compensation = { reason: null, ...(rec.compensation as object) };
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, type.toBuffer(rec)]);
}

/** The property every decode must keep. */
function decodesOrRefuses(d: EventDecoder, value: Buffer | null): ValidEvent | BadEventError {
  let e: ValidEvent;
  try {
    e = d.decode(value);
  } catch (err) {
    if (!(err instanceof BadEventError)) throw new Error(`decode threw ${(err as Error)?.name}: ${(err as Error)?.message}, not a BadEventError`, { cause: err });
    expect(err.reason).toMatch(/^[a-z][a-z_]*$/);
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.retriable).toBe(false);
    return err;
  }
  expect(typeof e.eventId).toBe('string');
  expect(e.eventId.length).toBeGreaterThan(0);
  expect(Number.isFinite(e.ts)).toBe(true);
  // an accepted occurredAt is a real RFC 3339 instant: it reads back as itself
  expect(new Date(e.ts).toISOString()).toBe(e.occurredAt);
  for (const f of ['eventId', 'userId', 'agentId', 'agentVersion'] as const) expect(e[f].isWellFormed(), `${f} is well-formed Unicode`).toBe(true);
  return e;
}

beforeAll(async () => {
  const s = stackEndpoints();
  const schemas = await registerSchemas(s.schemaRegistryUrl, { 'agent-action': randomName('fuzz') + '.agent.actions' });
  schemaId = schemas.ids['agent-action']!;
  decoder = new EventDecoder(schemas.registry, MAX);
  bigDecoder = new EventDecoder(schemas.registry, 4 * 1024 * 1024);
  await decoder.loadSchemas([{ value: frame({ eventId: 'x', type: 't', occurredAt: 'x', userId: 'u', agentId: 'a', agentVersion: '1' }) }]);
  await bigDecoder.loadSchemas([{ value: frame({ eventId: 'x', type: 't', occurredAt: 'x', userId: 'u', agentId: 'a', agentVersion: '1' }) }]);
});

describe('ingest decode: bad input is a BadEventError with a reason, never a crash', () => {
  it('random bytes (as ingest reads them: schema ids fetched first)', async () => {
    await checkAsync('decode: random bytes', fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      const value = Buffer.from(bytes);
      await decoder.loadSchemas([{ value }]);
      decodesOrRefuses(decoder, value);
    }), cases(500, 3000));
  }, FUZZ_TIMEOUT);

  it('random bytes behind a JSON brace and behind the Avro magic byte with the real schema id', () => {
    check('decode: framed random bytes', fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (avro, bytes) => {
      const head = avro ? frame({ eventId: 'x', type: 't', occurredAt: 'x', userId: 'u', agentId: 'a', agentVersion: '1' }).subarray(0, 5) : Buffer.from('{');
      decodesOrRefuses(decoder, Buffer.concat([head, Buffer.from(bytes)]));
    }), cases(300, 2000));
  }, FUZZ_TIMEOUT);

  it('mutated JSON events: wrong types, missing fields, hostile strings and dates, prototype keys', () => {
    check('decode: mutated JSON events', fc.property(validEvent, fc.array(mutation, { minLength: 1, maxLength: 4 }), (e, ms) => {
      const r = decodesOrRefuses(decoder, Buffer.from(JSON.stringify(mutate(e, ms))));
      if (!(r instanceof BadEventError)) expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    }), cases(600, 3000));
  }, FUZZ_TIMEOUT);

  it('valid events still decode (JSON and Avro), the same either way', () => {
    check('decode: valid events', fc.property(validEvent, (e) => {
      const a = decodesOrRefuses(decoder, Buffer.from(JSON.stringify(e)));
      const b = decodesOrRefuses(decoder, frame(e));
      expect(a).not.toBeInstanceOf(BadEventError);
      expect(b).toEqual(a);
    }), cases(200, 1000));
  }, FUZZ_TIMEOUT);

  it('truncated, corrupted and extended Avro with the real schema id', () => {
    check('decode: damaged Avro', fc.property(validEvent, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('truncate', 'flip', 'append', 'splice'), (e, at, byte, how) => {
      const good = frame(e);
      const i = 5 + (at % (good.length - 5));
      let bad: Buffer;
      if (how === 'truncate') bad = good.subarray(0, i);
      else if (how === 'append') bad = Buffer.concat([good, Buffer.from([byte])]);
      else if (how === 'splice') bad = Buffer.concat([good.subarray(0, i), good.subarray(i + 1)]);
      else {
        bad = Buffer.from(good);
        bad[i] = byte;
      }
      decodesOrRefuses(decoder, bad);
      // the compiled reader and avsc itself agree on every damaged body: both refuse, or both read the same
      const body = bad.subarray(5);
      const mine = attempt(() => compileReader(type)!(body, 0));
      const theirs = attempt(() => type.fromBuffer(body));
      expect(mine.ok).toBe(theirs.ok);
      if (mine.ok && theirs.ok) expect(JSON.stringify(mine.value)).toBe(JSON.stringify(dropNullFields(theirs.value)));
    }), cases(400, 2000));
  }, FUZZ_TIMEOUT);

  it('wrong schema ids (unknown to the registry) are unknown_schema', async () => {
    await checkAsync('decode: wrong schema ids', fc.asyncProperty(fc.constantFrom(...WRONG_IDS), validEvent, async (id, e) => {
      const value = frame(e, id);
      await decoder.loadSchemas([{ value }]); // asked again each batch: the registry may know it later
      const r = decodesOrRefuses(decoder, value);
      expect(r).toBeInstanceOf(BadEventError);
      expect((r as BadEventError).reason).toBe('unknown_schema');
    }), cases(50, 200));
  }, FUZZ_TIMEOUT);

  it('huge strings in any field: oversized beyond the limit, decoded or refused below it', () => {
    check('decode: huge strings', fc.property(validEvent, fc.constantFrom('eventId', 'userId', 'agentId', 'intentId', 'occurredAt', 'extra'), hugeString(200_000), (e, field, s) => {
      const value = Buffer.from(JSON.stringify({ ...e, [field]: s }));
      const r = decodesOrRefuses(decoder, value);
      if (value.length > MAX) expect((r as BadEventError).reason).toBe('oversized');
    }), cases(40, 300));
  }, FUZZ_TIMEOUT);

  it('deep nesting (up to 20,000 levels, with a 4 MB limit so it reaches the parser)', () => {
    check('decode: deep nesting', fc.property(deepNesting, (text) => {
      decodesOrRefuses(bigDecoder, Buffer.from(text));
    }), cases(20, 200));
  }, FUZZ_TIMEOUT);

  it('invalid and hostile dates', () => {
    check('decode: dates', fc.property(validEvent, hostileDate, (e, d) => {
      decodesOrRefuses(decoder, Buffer.from(JSON.stringify({ ...e, occurredAt: d })));
      if (typeof d === 'string') decodesOrRefuses(decoder, frame({ ...e, occurredAt: d }));
    }), cases(500, 2000));
  }, FUZZ_TIMEOUT);

  it('Unicode edge cases in identifiers (lone surrogates, NUL, RTL, combining marks), JSON and Avro', () => {
    check('decode: unicode', fc.property(validEvent, fc.constantFrom('eventId', 'userId', 'agentId', 'agentVersion', 'intentId', 'plan'), hostileString(30), (e, field, s) => {
      decodesOrRefuses(decoder, Buffer.from(JSON.stringify({ ...e, [field]: s })));
      decodesOrRefuses(decoder, frame({ ...e, [field]: s }));
    }), cases(500, 2000));
  }, FUZZ_TIMEOUT);
});

function attempt(f: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
}

/** avsc's value as the compiled reader gives it: plain objects, null record fields left out. */
function dropNullFields(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNullFields);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNullFields(x);
  return out;
}
