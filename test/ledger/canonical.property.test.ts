import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, parseCanonical, type Envelope } from '../../src/ledger/events/envelope.js';

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const envelope: fc.Arbitrary<Envelope> = fc
  .record({
    ledger: text,
    type: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    actor: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    author: optional(text),
    resource: optional(text),
    subsystem: optional(text),
    payload: optional(fc.jsonValue()),
    result: optional(text),
    correlationId: optional(text),
    parents: fc.array(fc.stringMatching(/^[0-9a-f]{64}$/), { maxLength: 3 }),
    hlc: fc.record({ physicalMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }), logical: fc.nat({ max: 0x7fffffff }) }),
  })
  .map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as Envelope);

describe('canonical envelope bytes', () => {
  it('are byte-identical to the general RFC 8785 canonicaliser', () => {
    fc.assert(
      fc.property(envelope, (e) => {
        expect(canonicalBytes(e).toString('utf8')).toBe(canonicalize(e));
      }),
      { numRuns: 2000 },
    );
  });

  it('parse back to the same envelope', () => {
    fc.assert(
      fc.property(envelope, (e) => {
        const bytes = canonicalBytes(e);
        if (e.type.includes('\u0000') || e.actor.includes('\u0000')) return;
        try {
          expect(canonicalize(parseCanonical(bytes))).toBe(bytes.toString('utf8'));
        } catch (err) {
          // parseCanonical refuses fields the append path refuses too (NUL, over-long): never silently differs.
          expect((err as { code?: string }).code).toBe('BAD_USER_INPUT');
        }
      }),
      { numRuns: 500 },
    );
  });
});
