import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalPayload } from '../../src/ledger/events/envelope.js';
import { queryPayload, resultTextOf, LIFECYCLES, type QueryInput } from '../../src/provenance/records.js';

// What JSON escapes (quotes, backslashes, control characters) among ordinary and astral text; never NUL, which is refused.
const special = fc.constantFrom('"', '\\', '\n', '\t', '\u0001', '\u001f', '\u007f', '\u2028', '\u2029', 'é', '😀', '</');
const text = fc
  .array(fc.oneof(special, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 12 })
  .map((parts) => parts.join(''))
  .filter((s) => !s.includes('\u0000') && s.length <= 512);
const hash = fc.stringMatching(/^[0-9a-fA-F]{64}$/);
const unit = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, -0, 1, 0.1, 1e-7, 5e-324));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const queryInput: fc.Arbitrary<QueryInput> = fc.record({
  queryId: maybe(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/)),
  agentId: text,
  subject: text,
  predicate: text,
  lens: fc.option(text, { nil: null }),
  lifecycleFilter: fc.option(fc.array(fc.constantFrom(...LIFECYCLES), { maxLength: 5 }), { nil: null }),
  result: fc.jsonValue({ stringUnit: 'grapheme' }),
  resultConfidence: fc.option(unit, { nil: null }),
  contributingAssertions: fc.uniqueArray(fc.record({ assertionHash: hash, weight: unit }), {
    maxLength: 6,
    selector: (c) => c.assertionHash.toLowerCase(),
  }),
});

describe('a query audit payload', () => {
  it('carries the RFC 8785 text the reference canonicaliser writes for it, for any input', () => {
    fc.assert(
      fc.property(queryInput, (input) => {
        const payload = queryPayload(input);
        expect(canonicalPayload(payload)).toBe(canonicalize(payload));
        expect(resultTextOf(payload)).toBe(canonicalize(input.result));
      }),
      { numRuns: 2000 },
    );
  });

  it('is canonicalised in full when it is not the one the builder wrote', () => {
    const payload = queryPayload({ agentId: 'a', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] });
    const copy = { ...payload, subject: 'changed' };
    expect(canonicalPayload(copy)).toBe(canonicalize(copy));
    // A payload read back from the ledger (a rebuild) has no text written with it.
    const readBack = { ...payload, result: { b: [2, 'x'], a: 1 } };
    expect(resultTextOf(readBack)).toBe('{"a":1,"b":[2,"x"]}');
  });
});
