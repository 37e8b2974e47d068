/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a value, byte-identical to the `canonicalize`
 * package for every JSON value (test/ledger/rfc8785.property.test.ts holds it so; an
 * array hole, which no parsed JSON has, is written null as JSON.stringify does) at half its cost: that
 * package scans every string for lone surrogates in JavaScript and builds each level through
 * map and join, which made it the append path's largest single cost. Here the surrogate check
 * is the engine's `isWellFormed`, and each level is one string built in place.
 *
 * Throws (a plain Error, as `canonicalize` does) on NaN, ±Infinity, lone surrogates and cycles;
 * a bigint throws JSON.stringify's TypeError.
 *
 * @example rfc8785({ b: [1, 'x'], a: 0.5 }) // '{"a":0.5,"b":[1,"x"]}'
 */
export function rfc8785(value: unknown): string {
  return write(value, new Set()) as string;
}

const str = JSON.stringify;
/** Whether `s` has no lone surrogate (RFC 8785 cannot encode one). */
export const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function write(v: unknown, seen: Set<object>): string | undefined {
  switch (typeof v) {
    case 'string':
      if (!isWellFormed(v)) throw new Error('Lone surrogate is not allowed');
      return str(v);
    case 'number':
      if (Number.isNaN(v)) throw new Error('NaN is not allowed');
      if (!Number.isFinite(v)) throw new Error('Infinity is not allowed');
      return str(v);
    case 'object':
      if (v === null) return 'null';
      return writeObject(v, seen);
    default:
      // booleans as JSON writes them; undefined, functions and symbols as JSON.stringify does (no text); bigint throws.
      return str(v);
  }
}

/**
 * Keys in RFC 8785 order (UTF-16 code units, which is how `<` and the default sort compare
 * strings). The hottest objects the server builds (query audit payloads, assertion contents)
 * list their keys in that order already; checking costs a pass, where sorting allocated
 * ≈ 6 kB for each recorded query audit.
 */
function inOrder(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return keys.sort();
  return keys;
}

function writeObject(o: object, seen: Set<object>): string | undefined {
  if (seen.has(o)) throw new Error('Circular reference detected');
  seen.add(o);
  let out: string | undefined;
  if (typeof (o as { toJSON?: unknown }).toJSON === 'function') {
    out = write((o as { toJSON(): unknown }).toJSON(), seen);
  } else if (Array.isArray(o)) {
    out = '[';
    for (let i = 0; i < o.length; i++) {
      const e: unknown = o[i];
      if (i > 0) out += ',';
      out += e === undefined || typeof e === 'symbol' ? 'null' : (write(e, seen) ?? '');
    }
    out += ']';
  } else {
    out = '{';
    let first = true;
    const record = o as Record<string, unknown>;
    for (const key of inOrder(Object.keys(record))) {
      const e = record[key];
      if (e === undefined || typeof e === 'symbol') continue;
      if (!first) out += ',';
      first = false;
      out += `${write(key, seen)}:${write(e, seen)}`;
    }
    out += '}';
  }
  seen.delete(o);
  return out;
}
