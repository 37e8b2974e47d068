import { ChainproofError } from '../errors.js';

/**
 * A one-dimensional PostgreSQL array in the binary wire format (what `array_send` writes), for
 * a `$n::type[]` parameter of an `INSERT … SELECT FROM unnest(…)`. The driver sends a Buffer
 * parameter as binary, so PostgreSQL reads each element by its length instead of parsing a text
 * literal character by character, and no quoted string is built per element on this side: a
 * column of an append is one buffer, written in place.
 *
 * Element types, and what each takes:
 * - `text`: a string (UTF-8);
 * - `int2`, `int4`, `int8`: an integer within the type's range (`int8`: a safe integer);
 * - `float8`: any number;
 * - `timestamptz`: a Date;
 * - `bytea`: bytes;
 * - `hex`: bytes given as hex (a `bytea[]`), written without an intermediate Buffer.
 *
 * null and undefined are SQL NULL. Anything else throws INTERNAL rather than be written as
 * something it is not.
 *
 * @example
 *   db.query(`SELECT unnest($1::text[])`, [binaryArray('text', ['a', null])])
 *   binaryArray('int8', events, (e) => e.index)
 */
export function binaryArray<K extends ElementType>(type: K, values: ReadonlyArray<Elements[K] | null | undefined>): Buffer;
/** The column `element` picks from each of `rows`, without building the column first. */
export function binaryArray<K extends ElementType, T>(type: K, rows: readonly T[], element: (row: T) => Elements[K] | null | undefined): Buffer;
export function binaryArray<K extends ElementType, T>(
  type: K,
  items: readonly T[],
  element?: (row: T) => Elements[K] | null | undefined,
): Buffer {
  const values = element ? items.map(element) : (items as ReadonlyArray<Elements[K] | null | undefined>);
  const codec = CODECS[type];
  // Indexed loops: for…of allocated an iterator result per element wherever this ran unoptimised.
  let bound = 20;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    bound += 4 + (v === null || v === undefined ? 0 : codec.maxSize(v as never));
  }
  const out = Buffer.allocUnsafe(bound);
  let at = values.length === 0 ? 12 : 20;
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      nulls = 1;
      out.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    const size = codec.write(out, at + 4, v as never);
    out.writeInt32BE(size, at);
    at += 4 + size;
  }
  // Header: dimensions (0 for an empty array), whether any element is NULL, the element type;
  // then the one dimension's length and lower bound.
  out.writeInt32BE(values.length === 0 ? 0 : 1, 0);
  out.writeInt32BE(nulls, 4);
  out.writeInt32BE(codec.oid, 8);
  if (values.length > 0) {
    out.writeInt32BE(values.length, 12);
    out.writeInt32BE(1, 16);
  }
  return out.subarray(0, at);
}

interface Elements {
  text: string;
  int2: number;
  int4: number;
  int8: number;
  float8: number;
  timestamptz: Date;
  bytea: Uint8Array;
  hex: string;
}
export type ElementType = keyof Elements;

interface Codec<V> {
  oid: number;
  /** At least the bytes `write` takes for `v`. */
  maxSize(v: V): number;
  /** Writes `v` at `at` and returns how many bytes it took. */
  write(out: Buffer, at: number, v: V): number;
}

const wrong = (type: string, v: unknown) =>
  new ChainproofError('INTERNAL', `a ${type} array cannot hold ${typeof v === 'number' ? v : `a ${v === null ? 'null' : typeof v}`}`);

function integer(type: string, oid: number, bytes: 2 | 4, min: number, max: number): Codec<number> {
  return {
    oid,
    maxSize: () => bytes,
    write(out, at, v) {
      if (!Number.isInteger(v) || v < min || v > max) throw wrong(type, v);
      if (bytes === 2) out.writeInt16BE(v, at);
      else out.writeInt32BE(v, at);
      return bytes;
    },
  };
}

/** A safe integer as a big-endian two's-complement int64, without a BigInt per element. */
function writeInt64(out: Buffer, at: number, v: number): void {
  const high = Math.floor(v / 2 ** 32);
  out.writeInt32BE(high, at);
  out.writeUInt32BE(v - high * 2 ** 32, at + 4);
}

/** PostgreSQL counts timestamps in microseconds from 2000-01-01T00:00:00Z. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

const CODECS: { [K in ElementType]: Codec<Elements[K]> } = {
  // A UTF-16 code unit never takes more than 3 bytes of UTF-8 (a surrogate pair, 2 units, takes 4).
  text: {
    oid: 25,
    maxSize: (v) => (typeof v === 'string' ? 3 * v.length : 0),
    write(out, at, v) {
      if (typeof v !== 'string') throw wrong('text', v);
      return out.write(v, at, 'utf8');
    },
  },
  int2: integer('int2', 21, 2, -(2 ** 15), 2 ** 15 - 1),
  int4: integer('int4', 23, 4, -(2 ** 31), 2 ** 31 - 1),
  int8: {
    oid: 20,
    maxSize: () => 8,
    write(out, at, v) {
      if (!Number.isSafeInteger(v)) throw wrong('int8', v);
      writeInt64(out, at, v);
      return 8;
    },
  },
  float8: {
    oid: 701,
    maxSize: () => 8,
    write(out, at, v) {
      if (typeof v !== 'number') throw wrong('float8', v);
      out.writeDoubleBE(v, at);
      return 8;
    },
  },
  timestamptz: {
    oid: 1184,
    maxSize: () => 8,
    write(out, at, v) {
      const micros = v instanceof Date ? (v.getTime() - POSTGRES_EPOCH_MS) * 1000 : NaN;
      if (!Number.isSafeInteger(micros)) throw wrong('timestamptz', v);
      writeInt64(out, at, micros);
      return 8;
    },
  },
  bytea: {
    oid: 17,
    maxSize: (v) => (v instanceof Uint8Array ? v.length : 0),
    write(out, at, v) {
      if (!(v instanceof Uint8Array)) throw wrong('bytea', v);
      out.set(v, at);
      return v.length;
    },
  },
  // Buffer.write stops quietly at the first character that is not a hex digit: check it wrote all.
  hex: {
    oid: 17,
    maxSize: (v) => (typeof v === 'string' ? v.length >> 1 : 0),
    write(out, at, v) {
      if (typeof v !== 'string') throw wrong('bytea', v);
      const size = v.length >> 1;
      if (v.length % 2 !== 0 || (size > 0 && out.write(v, at, size, 'hex') !== size)) {
        throw new ChainproofError('INTERNAL', 'a hex element of a bytea array is not whole bytes of hex digits');
      }
      return size;
    },
  },
};

/**
 * SQL: `= ANY` over a `type[]` parameter, for looking up many keys at once. Written as a
 * sub-select so the planner does not see the elements: given them (as it is, for an unnamed
 * statement), it estimated each one's selectivity and, for 3,000 hashes out of 20,000 rows,
 * chose a sequential scan over the primary key's probes.
 *
 * @example db.query(`SELECT … WHERE a.hash ${anyOf('$2', 'bytea')}`, [ledgerId, binaryArray('hex', hashes)])
 */
export const anyOf = (param: string, type: string) => `= ANY(ARRAY(SELECT unnest(${param}::${type}[])))`;
