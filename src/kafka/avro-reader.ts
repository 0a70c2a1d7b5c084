import avsc from 'avsc';

/**
 * A fast, synchronous Avro reader compiled from an avsc Type (the writer schema), for the ingest hot
 * path. It reads what `type.fromBuffer` reads, with two differences on purpose:
 *   - records become plain objects (no avsc record class, whose prototype methods `for…in` would visit);
 *   - a record field whose value is null is left out, as the event contract reads a null optional field
 *     (validateEvent drops those anyway; deleting properties afterwards was a fifth of ingest's time).
 * Nulls inside arrays and map values are kept. Everything else (numbers, strings, enums as their symbol,
 * maps as objects, arrays, unwrapped unions) is what avsc gives, and the same inputs are refused:
 * truncated or trailing bytes, an invalid union or enum index, a long beyond 2^53.
 *
 * Only the types ingest sees are compiled: null, boolean, int, long, float, double, string, enum, array,
 * map, record and unwrapped unions of those. compileReader returns undefined for anything else (bytes,
 * fixed, logical types, wrapped unions…): decode those with the Type itself.
 */
export type AvroRead = (buf: Buffer, offset: number) => unknown;

interface Tap {
  b: Buffer;
  p: number;
}

type Read = (t: Tap) => unknown;

const EMPTY = Buffer.alloc(0);

export function compileReader(type: avsc.Type): AvroRead | undefined {
  let root: Read;
  try {
    root = new Compiler().reader(type);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  const tap: Tap = { b: EMPTY, p: 0 };
  return (buf, offset) => {
    tap.b = buf;
    tap.p = offset;
    try {
      const value = root(tap);
      if (tap.p > buf.length) throw new Error('truncated buffer');
      if (tap.p < buf.length) throw new Error('trailing data');
      return value;
    } finally {
      tap.b = EMPTY; // keep no message alive
    }
  };
}

class Unsupported extends Error {}

class Compiler {
  /** Record readers by full name; filled before their fields are compiled, so recursive records work. */
  private readonly records = new Map<string, { read: Read }>();

  reader(type: avsc.Type): Read {
    switch (type.typeName) {
      case 'null':
        return readNull;
      case 'boolean':
        return readBoolean;
      case 'int':
        return readInt;
      case 'long':
        return readLong;
      case 'float':
        return readFloat;
      case 'double':
        return readDouble;
      case 'string':
        return readString;
      case 'enum':
        return enumReader(type as unknown as avsc.types.EnumType);
      case 'array':
        return arrayReader(this.reader((type as unknown as avsc.types.ArrayType).itemsType));
      case 'map':
        return mapReader(this.reader((type as unknown as avsc.types.MapType).valuesType as avsc.Type));
      case 'union:unwrapped':
        return unionReader((type as unknown as avsc.types.UnwrappedUnionType).types.map((t) => this.reader(t)));
      case 'record':
      case 'error':
        return this.recordReader(type as unknown as avsc.types.RecordType);
      default:
        throw new Unsupported(type.typeName);
    }
  }

  private recordReader(type: avsc.types.RecordType): Read {
    const name = type.name ?? '';
    const known = this.records.get(name);
    if (known) return (t) => known.read(t);
    const slot: { read: Read } = { read: () => undefined };
    if (name) this.records.set(name, slot);
    const fields = type.fields.map((f) => {
      if (f.name === '__proto__') throw new Unsupported('field __proto__');
      return { name: f.name, read: this.reader(f.type) };
    });
    // One generated function per record, so each field is a named store and each field reader call
    // site sees one function.
    const body = [
      'return function read(t) {',
      '  const o = {};',
      '  let v;',
      ...fields.map((f, i) => `  v = F[${i}](t); if (v !== null) o[${JSON.stringify(f.name)}] = v;`),
      '  return o;',
      '};',
    ].join('\n');
    slot.read = new Function('F', body)(fields.map((f) => f.read)) as Read;
    return slot.read;
  }
}

function readNull(): null {
  return null;
}

function readBoolean(t: Tap): boolean {
  return !!t.b[t.p++];
}

/** A zig-zag varint, as avsc's Tap.readLong (past the end it reads zeros; the caller checks the position). */
function varint(t: Tap): number {
  const buf = t.b;
  let n = 0;
  let k = 0;
  let b: number;
  let h: number;
  do {
    b = buf[t.p++]!;
    h = b & 0x80;
    n |= (b & 0x7f) << k;
    k += 7;
  } while (h && k < 28);
  if (h) {
    // Beyond 28 bits: float arithmetic, or it would overflow.
    let f = n;
    let fk = 268435456; // 2 ** 28
    do {
      b = buf[t.p++]!;
      f += (b & 0x7f) * fk;
      fk *= 128;
    } while (b & 0x80);
    return (f % 2 ? -(f + 1) : f) / 2;
  }
  return (n >> 1) ^ -(n & 1);
}

function readInt(t: Tap): number {
  return varint(t);
}

function readLong(t: Tap): number {
  const n = varint(t);
  if (n < Number.MIN_SAFE_INTEGER || n > Number.MAX_SAFE_INTEGER) throw new Error('potential precision loss');
  return n;
}

function readFloat(t: Tap): number {
  const p = t.p;
  t.p += 4;
  return t.p > t.b.length ? 0 : t.b.readFloatLE(p);
}

function readDouble(t: Tap): number {
  const p = t.p;
  t.p += 8;
  return t.p > t.b.length ? 0 : t.b.readDoubleLE(p);
}

type Utf8Slicing = Buffer & { utf8Slice?: (start: number, end: number) => string };

function readString(t: Tap): string | undefined {
  const len = varint(t);
  if (len < 0) {
    t.p = t.b.length + 1; // invalid: refused as truncated
    return '';
  }
  const p = t.p;
  t.p += len;
  if (t.p > t.b.length) return undefined;
  const buf = t.b as Utf8Slicing;
  return buf.utf8Slice ? buf.utf8Slice(p, t.p) : buf.toString('utf8', p, t.p);
}

function enumReader(type: avsc.types.EnumType): Read {
  const symbols = type.symbols;
  const name = type.name;
  return (t) => {
    const i = varint(t);
    const s = symbols[i];
    if (s === undefined) throw new Error(`invalid ${name} enum index: ${i}`);
    return s;
  };
}

/** A block count; a negative one is followed by the block's size in bytes, skipped. */
function blockCount(t: Tap): number {
  let n = varint(t);
  if (n < 0) {
    n = -n;
    varint(t);
  }
  if (t.p > t.b.length) throw new Error('truncated buffer');
  return n;
}

function arrayReader(items: Read): Read {
  return (t) => {
    const out: unknown[] = [];
    let n: number;
    while ((n = blockCount(t))) {
      while (n--) {
        out.push(items(t));
        if (t.p > t.b.length) throw new Error('truncated buffer');
      }
    }
    return out;
  };
}

function mapReader(values: Read): Read {
  return (t) => {
    const out: Record<string, unknown> = {};
    let n: number;
    while ((n = blockCount(t))) {
      while (n--) {
        const key = readString(t) as string;
        const value = values(t);
        if (t.p > t.b.length) throw new Error('truncated buffer');
        if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        else out[key] = value;
      }
    }
    return out;
  };
}

function unionReader(branches: Read[]): Read {
  if (branches.length === 2 && branches[0] === readNull) {
    // ["null", X], the usual optional field
    const some = branches[1]!;
    return (t) => {
      const i = varint(t);
      if (i === 0) return null;
      if (i === 1) return some(t);
      throw new Error(`invalid union index: ${i}`);
    };
  }
  return (t) => {
    const i = varint(t);
    const read = branches[i];
    if (read === undefined) throw new Error(`invalid union index: ${i}`);
    return read(t);
  };
}
