import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rfc8785 } from '../../src/ledger/events/rfc8785.js';

const refusal = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

describe('rfc8785', () => {
  // Binary strings include lone surrogates: then both must refuse, for the same reason.
  it.each(['grapheme', 'binary'] as const)('writes the bytes the reference RFC 8785 canonicaliser writes, for any JSON value (%s strings)', (stringUnit) => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit }), (v) => {
        const reason = refusal(() => canonicalize(v));
        if (reason === undefined) expect(rfc8785(v)).toBe(canonicalize(v));
        else expect(refusal(() => rfc8785(v))).toBe(reason);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on values only code makes: undefined members, toJSON, -0, exponents', () => {
    const values: unknown[] = [
      { a: undefined, b: [undefined, 1], c: new Date(0), d: -0, e: 1e21, f: 1e-7, g: 0.1 + 0.2 },
      { '\u00e9': 1, e: 2, E: 3, '10': 4, '9': 5, '\ud83d\ude00': 6, '\u20ac': 7 },
      'line\nbreak \u2028 "quoted" \\ \u0001',
      // Keys listed in order already (not sorted again) and out of it, by UTF-16 code units:
      // U+1F600 is written with a surrogate below U+E000, though its code point is above.
      { a: 1, b: { c: 2, d: 3 }, e: [{ f: 4, g: 5 }] },
      { '\ud83d\ude00': 1, '\ue000': 2 },
      { '\ue000': 2, '\ud83d\ude00': 1 },
    ];
    for (const v of values) expect(rfc8785(v)).toBe(canonicalize(v));
  });

  it('refuses what the reference refuses, with the same reason', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    for (const bad of [NaN, Infinity, -Infinity, { x: [1, NaN] }, 'lone \ud800 surrogate', { ['\udc00']: 1 }, loop]) {
      const reason = refusal(() => rfc8785(bad));
      expect(reason).toBeDefined();
      expect(reason).toBe(refusal(() => canonicalize(bad)));
    }
  });

  it('leaves out a symbol member and writes a symbol element as null, as the reference does', () => {
    const v = { a: Symbol('x'), b: [Symbol('y'), 1], c: 2 };
    expect(rfc8785(v)).toBe('{"b":[null,1],"c":2}');
    expect(rfc8785(v)).toBe(canonicalize(v));
  });

  it('writes an array hole as null, as JSON does (the reference writes nothing there: not JSON)', () => {
    expect(rfc8785([1, , 3])).toBe('[1,null,3]'); // eslint-disable-line no-sparse-arrays
  });

  it('can share a value between siblings: only a cycle is refused', () => {
    const shared = { k: 1 };
    expect(rfc8785({ a: shared, b: shared, c: [shared, shared] })).toBe('{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":1}]}');
  });
});
