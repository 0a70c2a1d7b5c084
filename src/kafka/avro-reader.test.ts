import { readFileSync } from 'node:fs';
import avsc from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileReader } from './avro-reader.ts';

const agentAction = avsc.Type.forSchema(JSON.parse(readFileSync(new URL('../../schemas/agent-action.avsc', import.meta.url), 'utf8')));

/** Every type the reader compiles, nested, with a recursive record and null in every place it may be. */
const everything = avsc.Type.forSchema({
  type: 'record',
  name: 'Everything',
  namespace: 'test',
  fields: [
    { name: 'n', type: 'null' },
    { name: 'b', type: 'boolean' },
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 's', type: 'string' },
    { name: 'e', type: { type: 'enum', name: 'Colour', symbols: ['red', 'green', 'blue'] } },
    { name: 'optFirst', type: ['null', 'string'] },
    { name: 'optLast', type: ['long', 'null'] },
    { name: 'multi', type: ['null', 'int', 'string', { type: 'array', items: ['null', 'double'] }] },
    { name: 'strings', type: { type: 'array', items: 'string' } },
    { name: 'maybeMap', type: ['null', { type: 'map', values: ['null', 'Colour'] }] },
    {
      name: 'children',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Node',
          fields: [
            { name: 'label', type: ['null', 'string'] },
            { name: 'next', type: ['null', 'Node'] },
          ],
        },
      },
    },
    { name: 'again', type: ['null', 'Node'] },
  ],
});

/** What avsc gives, as the compiled reader gives it: plain objects, null record fields left out. */
function expected(type: avsc.Type, value: unknown): unknown {
  switch (type.typeName) {
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const f of (type as unknown as avsc.types.RecordType).fields) {
        const v = (value as Record<string, unknown>)[f.name];
        if (v !== null) out[f.name] = expected(f.type, v);
      }
      return out;
    }
    case 'union:unwrapped': {
      if (value === null) return null;
      const branch = (type as unknown as avsc.types.UnwrappedUnionType).types.find((t) => t.typeName !== 'null' && t.isValid(value));
      return expected(branch!, value);
    }
    case 'array':
      return (value as unknown[]).map((v) => expected((type as unknown as avsc.types.ArrayType).itemsType, v));
    case 'map': {
      const values = (type as unknown as avsc.types.MapType).valuesType as avsc.Type;
      return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, expected(values, v)]));
    }
    default:
      return value;
  }
}

/** A Confluent frame: magic byte, schema id 7, the Avro body. */
function frame(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), body]);
}

describe('compileReader', () => {
  for (const [name, type] of [['agent-action.avsc', agentAction], ['every compiled type', everything]] as const) {
    it(`reads what avsc reads (${name}), as plain objects without null fields`, () => {
      const read = compileReader(type)!;
      expect(read).toBeDefined();
      for (let i = 0; i < 3000; i++) {
        const value = type.random();
        const decoded = read(frame(type.toBuffer(value)), 5);
        expect(decoded).toStrictEqual(expected(type, type.fromBuffer(type.toBuffer(value))));
      }
    });

    it(`refuses what avsc refuses and reads what it reads, on corrupted bytes (${name})`, () => {
      const read = compileReader(type)!;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.integer({ min: -3, max: 3 }), (seed, edits, resize) => {
          const body = Buffer.from(type.toBuffer(randomWithSeed(type, seed)));
          for (const [at, byte] of edits) body[at % body.length] = byte;
          const bytes = resize >= 0 ? Buffer.concat([body, Buffer.alloc(resize, 1)]) : body.subarray(0, Math.max(0, body.length + resize));
          let want: { value: unknown } | { error: true };
          try {
            want = { value: expected(type, type.fromBuffer(bytes)) };
          } catch {
            want = { error: true };
          }
          let got: { value: unknown } | { error: true };
          try {
            got = { value: read(frame(bytes), 5) };
          } catch {
            got = { error: true };
          }
          expect(got).toStrictEqual(want);
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('names why it refuses a value', () => {
    const read = compileReader(everything)!;
    const body = everything.toBuffer(everything.random());
    expect(() => read(frame(body.subarray(0, body.length - 1)), 5)).toThrow(/^truncated buffer$/);
    expect(() => read(frame(Buffer.concat([body, Buffer.from([0])])), 5)).toThrow(/^trailing data$/);

    const action = avsc.Type.forSchema({ type: 'record', name: 'A', fields: [{ name: 'x', type: ['null', 'string'] }, { name: 'c', type: { type: 'enum', name: 'C', symbols: ['a'] } }, { name: 'l', type: 'long' }] });
    const readA = compileReader(action)!;
    expect(() => readA(frame(Buffer.from([0x04, 0, 0])), 5)).toThrow(/^invalid union index: 2$/);
    expect(() => readA(frame(Buffer.from([0, 0x02, 0])), 5)).toThrow(/^invalid C enum index: 1$/);
    // 2^53 + 1 as a zig-zag varint: beyond what a JS number holds exactly
    const big = Buffer.from([0, 0, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect(() => readA(frame(big), 5)).toThrow(/^potential precision loss$/);
  });

  it('leaves the types it does not compile to avsc', () => {
    expect(compileReader(avsc.Type.forSchema({ type: 'record', name: 'B', fields: [{ name: 'b', type: 'bytes' }] }))).toBeUndefined();
    expect(compileReader(avsc.Type.forSchema({ type: 'record', name: 'F', fields: [{ name: 'f', type: { type: 'fixed', name: 'F4', size: 4 } }] }))).toBeUndefined();
    expect(compileReader(avsc.Type.forSchema(['null', { type: 'record', name: 'R1', fields: [] }, { type: 'record', name: 'R2', fields: [] }], { wrapUnions: true }))).toBeUndefined();
    expect(compileReader(avsc.Type.forSchema({ type: 'record', name: 'P', fields: [{ name: '__proto__', type: 'string' }] }))).toBeUndefined();
  });

  it('keeps a map key __proto__ as a plain key', () => {
    const map = avsc.Type.forSchema({ type: 'map', values: 'int' });
    const body = Buffer.concat([Buffer.from([0x02, 0x12]), Buffer.from('__proto__'), Buffer.from([0x02, 0])]);
    const read = compileReader(map)!;
    const value = read(frame(body), 5) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(value['__proto__']).toBe(1);
  });
});

/** type.random() from a seed: avsc's random values use Math.random, so swap in a seeded one. */
function randomWithSeed(type: avsc.Type, seed: number): unknown {
  const original = Math.random;
  let s = seed >>> 0;
  Math.random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  try {
    return type.random();
  } finally {
    Math.random = original;
  }
}
