import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, parseCanonical, type Envelope } from '../../src/ledger/events/envelope.js';
import { EnvelopeScanner, K } from '../../src/ledger/verify/envelope-scanner.js';
import { parseCanonicalFast } from '../../src/ledger/verify/canonical.js';

const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const text = (max: number) => fc.oneof(fc.string({ maxLength: max }), fc.string({ unit: 'binary', maxLength: Math.min(max, 40) }));

const envelope: fc.Arbitrary<Envelope> = fc
  .record(
    {
      ledger: fc.oneof(fc.constant('audit.example/main'), text(40)),
      type: text(128).filter((s) => s.length > 0),
      actor: text(60).filter((s) => s.length > 0),
      author: text(60),
      resource: text(60),
      subsystem: text(20),
      result: text(20),
      correlationId: text(20),
      payload: fc.jsonValue({ maxDepth: 4 }),
      parents: fc.uniqueArray(hexId, { maxLength: 4 }),
      hlc: fc.record({ physicalMs: fc.maxSafeNat(), logical: fc.integer({ min: 0, max: 0x7fffffff }) }),
    },
    { requiredKeys: ['ledger', 'type', 'actor', 'parents', 'hlc'] },
  )
  .filter((e) => {
    try {
      canonicalBytes(e as Envelope); // lone surrogates cannot be canonicalised
      return true;
    } catch {
      return false;
    }
  }) as fc.Arbitrary<Envelope>;

/** What the scanner claims, read back as values (undefined: not recognised). */
function scanned(bytes: Buffer): Record<string, unknown> | undefined {
  const pad = Buffer.concat([Buffer.from('{{'), bytes, Buffer.from('}}')]); // offsets must be honoured
  const sc = new EnvelopeScanner();
  if (!sc.scan(pad, 2, 2 + bytes.length)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, k] of Object.entries(K)) {
    if (k === K.hlc || k === K.parents || k === K.payload || sc.textStart[k]! < 0) continue;
    out[name] = pad.toString('utf8', sc.textStart[k]!, sc.textEnd[k]!);
  }
  out.parents = Array.from({ length: sc.parentCount }, (_, i) => pad.toString('latin1', sc.parentStart[i]!, sc.parentStart[i]! + 64));
  out.hlc = { physicalMs: sc.hlcMs, logical: sc.hlcLogical };
  out.nonAscii = sc.nonAscii;
  return out;
}

const fieldsOf = (e: Envelope) => {
  const { payload: _payload, ...rest } = e;
  return rest;
};

/** Soundness: whatever the scanner recognises (with lowercase-hex parents, which its caller checks) parseCanonical accepts, with the same fields. */
function expectSound(bytes: Buffer): void {
  const s = scanned(bytes);
  if (!s) return;
  if (!(s.parents as string[]).every((p) => /^[0-9a-f]{64}$/.test(p))) return;
  if (s.nonAscii && !Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) return; // the caller checks UTF-8 then
  let env: Envelope;
  try {
    env = parseCanonical(bytes);
  } catch (e) {
    throw new Error(`scanner recognised bytes parseCanonical refuses (${(e as Error).message}): ${bytes.toString('latin1')}`);
  }
  delete s.nonAscii;
  expect(s).toEqual(fieldsOf(env));
}

describe('EnvelopeScanner', () => {
  it('recognises only canonical envelopes, and reads their fields right', () => {
    fc.assert(
      fc.property(envelope, (e) => {
        expectSound(canonicalBytes(e));
      }),
      { numRuns: 2000 },
    );
  });

  it('recognises the everyday envelope (the fast path is actually taken)', () => {
    const plain = fc.record({
      ledger: fc.constant('audit.example/main'),
      type: fc.stringMatching(/^[A-Za-z]{1,30}$/),
      actor: fc.stringMatching(/^[a-z:0-9]{1,30}$/),
      payload: fc.dictionary(
        fc.stringMatching(/^[a-z]{1,8}$/),
        fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.stringMatching(/^[ -~]{0,20}$/).filter((s) => !/["\\]/.test(s)), fc.boolean(), fc.constant(null)),
      ),
      parents: fc.uniqueArray(hexId, { maxLength: 3 }),
      hlc: fc.record({ physicalMs: fc.integer({ min: 0, max: 4_000_000_000_000 }), logical: fc.nat(1000) }),
    });
    fc.assert(
      fc.property(plain, (e) => {
        expect(scanned(canonicalBytes(e as Envelope))).toBeDefined();
      }),
      { numRuns: 1000 },
    );
  });

  it('never recognises a damaged or re-serialised envelope that parseCanonical refuses', () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(0x20, 0x0a, 0x2c, 0x22, 0x5c, 0x30, 0x2d, 0x2e, 0x65, 0x7d), fc.nat(255)) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(0x20, 0x22, 0x5c, 0x30, 0x31, 0x41, 0x7b), fc.nat(255)) }),
    );
    fc.assert(
      fc.property(envelope, fc.array(damage, { minLength: 1, maxLength: 3 }), (e, damages) => {
        let b = canonicalBytes(e);
        for (const d of damages) {
          const at = d.at % (b.length + 1);
          if (d.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.of(d.byte), b.subarray(at)]);
          else if (d.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          else if (at < b.length) b = Buffer.concat([b.subarray(0, at), Buffer.of(d.byte), b.subarray(at + 1)]);
        }
        expectSound(b);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['whitespace', '{"actor":"a", "hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":"t"}'],
    ['keys out of order', '{"hlc":{"logical":0,"physicalMs":1},"actor":"a","ledger":"l","parents":[],"type":"t"}'],
    ['a repeated key', '{"actor":"a","actor":"b","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":"t"}'],
    ['an unknown key', '{"actor":"a","extra":1,"hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":"t"}'],
    ['a missing type', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[]}'],
    ['an empty type', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":""}'],
    ['a non-shortest number', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"payload":1.0,"type":"t"}'],
    ['an exponent form', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"payload":1e2,"type":"t"}'],
    ['minus zero', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"payload":-0,"type":"t"}'],
    ['a leading zero', '{"actor":"a","hlc":{"logical":0,"physicalMs":01},"ledger":"l","parents":[],"type":"t"}'],
    ['an unsafe integer', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"payload":9007199254740993,"type":"t"}'],
    ['a needless escape', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"payload":"\\/","type":"t"}'],
    ['payload keys out of order', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"payload":{"b":1,"a":2},"type":"t"}'],
    ['a raw control character in a string', '{"actor":"a\tb","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":"t"}'],
    ['a logical clock past 2^31 - 1', '{"actor":"a","hlc":{"logical":2147483648,"physicalMs":1},"ledger":"l","parents":[],"type":"t"}'],
    ['a missing actor', '{"hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":"t"}'],
    ['a repeated payload key', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"payload":{"a":1,"a":2},"type":"t"}'],
    ['a type longer than 128', `{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":"${'t'.repeat(129)}"}`],
    ['more parents than an envelope may name', `{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[${Array.from({ length: 65 }, (_, i) => `"${i.toString(16).padStart(64, '0')}"`).join(',')}],"type":"t"}`],
    ['trailing bytes', '{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[],"type":"t"} '],
    ['a repeated parent', `{"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":["${'a'.repeat(64)}","${'a'.repeat(64)}"],"type":"t"}`],
  ])('does not recognise %s', (_what, json) => {
    expect(scanned(Buffer.from(json))).toBeUndefined();
  });

  it('leaves what it does not recognise to parseCanonical, which decides', () => {
    // Escapes and integer-like keys are canonical but not for the scanner.
    const env: Envelope = { ledger: 'l', type: 't', actor: 'a', parents: [], hlc: { physicalMs: 1, logical: 0 }, payload: { '10': 'x\ny', '9': 'é' } };
    const bytes = canonicalBytes(env);
    expect(scanned(bytes)).toBeUndefined();
    expect(parseCanonicalFast(bytes)).toEqual(env);
  });
});

describe('parseCanonicalFast', () => {
  const base = '"actor":"a","hlc":{"logical":0,"physicalMs":1},"ledger":"l","parents":[]';
  it.each([
    ['a lone surrogate escape', `{${base},"payload":"\\ud800","type":"t"}`],
    ['an unknown field', `{${base},"type":"t","zzz":1}`],
    ['keys out of order', `{"hlc":{"logical":0,"physicalMs":1},"actor":"a","ledger":"l","parents":[],"type":"t"}`],
    ['payload keys out of order', `{${base},"payload":{"b":1,"a":2},"type":"t"}`],
    ['whitespace', `{${base}, "type":"t"}`],
    ['a needless escape', `{${base},"payload":"\\/","type":"t"}`],
  ])('refuses %s, as parseCanonical does', (_what, json) => {
    const bytes = Buffer.from(json, 'utf8');
    expect(() => parseCanonical(bytes)).toThrow();
    expect(() => parseCanonicalFast(bytes)).toThrow();
  });

  it('refuses bytes that are not UTF-8, though they decode to a canonical envelope', () => {
    const bytes = Buffer.concat([Buffer.from(`{${base},"payload":"h`), Buffer.of(0xe9), Buffer.from('llo","type":"t"}')]);
    expect(() => parseCanonicalFast(bytes)).toThrow(/not valid UTF-8/);
  });

  it('accepts a canonical envelope with escapes, integer-like keys and non-ASCII text', () => {
    const env: Envelope = { ledger: 'l', type: 't', actor: 'a', parents: [], hlc: { physicalMs: 1, logical: 0 }, payload: { '10': 'x\ny', '9': 'é', b: { d: 1, c: [2] } } };
    expect(parseCanonicalFast(canonicalBytes(env))).toEqual(env);
  });
});
