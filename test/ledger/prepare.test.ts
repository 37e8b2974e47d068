import canonicalize from 'canonicalize';
import { base58 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { didKeyFromPublicKey, publicKeyFromDidKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed, ed25519Verify } from '../../src/ledger/events/ed25519.js';
import { canonicalBytes, parseCanonical, type Envelope } from '../../src/ledger/events/envelope.js';
import type { AppendInput } from '../../src/ledger/events/event.js';
import { envelopeOf, prepareInput, prepareReplicated } from '../../src/ledger/events/prepare.js';
import { treeHasher } from '../../src/ledger/merkle/index.js';
import { thrownCodeOf } from '../support/codes.js';

const hasher = treeHasher('sha256');
const NOW = 1_800_000_000_000;
const limits = { maxPayloadBytes: 1000, hlcMaxSkewMs: 60_000 };
const ORIGIN = 'chainproof.test/here';
const key = ed25519FromSeed(Buffer.alloc(32, 21));
const author = didKeyFromPublicKey(key.publicKey);

/** A client-signed input: the signature is over the envelope as this ledger will store it. */
function signed(fields: Partial<AppendInput> = {}, origin = ORIGIN): AppendInput {
  const input: AppendInput = { type: 't', actor: 'a', author, parents: [], hlc: { physicalMs: NOW, logical: 0 }, ...fields };
  const env = envelopeOf(input, origin, input.parents!, input.hlc!);
  return { ...input, signature: key.sign(canonicalBytes(env)).toString('hex') };
}

const envelope = (fields: Partial<Envelope> = {}): Envelope => ({
  ledger: 'chainproof.test/there',
  type: 't',
  actor: 'a',
  author,
  parents: [],
  hlc: { physicalMs: NOW, logical: 0 },
  ...fields,
});
const bytesOf = (e: object) => Buffer.from(canonicalize(e)!, 'utf8');

describe('did:key', () => {
  const did = didKeyFromPublicKey(key.publicKey);
  it('round-trips an Ed25519 key', () => {
    expect(did.startsWith('did:key:z6Mk')).toBe(true);
    expect(publicKeyFromDidKey(did).equals(key.publicKey)).toBe(true);
  });

  const multibase = (bytes: number[]) => `did:key:z${base58.encode(Uint8Array.from(bytes))}`;
  it.each([
    ['another multibase prefix', `did:key:x${did.slice('did:key:z'.length)}`],
    ['a key a byte too long', multibase([0xed, 0x01, ...key.publicKey, 0])],
    ['a key a byte too short', multibase([0xed, 0x01, ...key.publicKey.subarray(1)])],
    ['a secp256k1 multicodec (0xe7)', multibase([0xe7, 0x01, ...key.publicKey])],
    ['an Ed25519 multicodec with another second byte', multibase([0xed, 0x02, ...key.publicKey])],
    ['invalid base58 (of the right length)', `did:key:z0${did.slice('did:key:z0'.length)}`],
  ])('refuses %s', (_label, bad) => {
    expect(thrownCodeOf(() => publicKeyFromDidKey(bad))).toBe('BAD_USER_INPUT');
  });
});

describe('ed25519Verify', () => {
  it('refuses an all-zero signature', () => {
    expect(ed25519Verify(key.publicKey, Buffer.from('m'), Buffer.alloc(64))).toBe(false);
  });
});

describe('prepareInput: a client-signed event', () => {
  it('accepts the signature over the envelope with this ledger as origin, and ids it by its leaf hash', () => {
    const input = signed({ correlationId: 'c-1', payload: { x: 1 } });
    const p = prepareInput(input, ORIGIN, hasher, limits, NOW);
    expect(p.signed!.envelope.correlationId).toBe('c-1');
    expect(p.signed!.canonical.toString()).toContain('"correlationId":"c-1"');
    expect(p.signed!.id.equals(hasher.leafHash(p.signed!.canonical))).toBe(true);
  });

  it('refuses a signature made for another ledger, or over other fields', () => {
    expect(thrownCodeOf(() => prepareInput(signed({}, 'chainproof.test/elsewhere'), ORIGIN, hasher, limits, NOW))).toBe('BAD_SIGNATURE');
    const input = signed({ correlationId: 'c-1' });
    expect(thrownCodeOf(() => prepareInput({ ...input, correlationId: 'c-2' }, ORIGIN, hasher, limits, NOW))).toBe('BAD_SIGNATURE');
    expect(thrownCodeOf(() => prepareInput({ ...input, correlationId: undefined }, ORIGIN, hasher, limits, NOW))).toBe('BAD_SIGNATURE');
  });

  it('refuses an author whose key is of small order: its "signature" (R the identity, S = 0) would verify for any event', () => {
    const identity = Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]);
    const forged = `01${'00'.repeat(63)}`;
    for (const type of ['vote', 'anything else']) {
      const input: AppendInput = { type, actor: 'a', author: didKeyFromPublicKey(identity), parents: [], hlc: { physicalMs: NOW, logical: 0 }, signature: forged };
      expect(thrownCodeOf(() => prepareInput(input, ORIGIN, hasher, limits, NOW)), type).toBe('BAD_SIGNATURE');
    }
  });

  it('refuses a signature in upper-case hex', () => {
    const input = signed();
    expect(thrownCodeOf(() => prepareInput({ ...input, signature: input.signature!.toUpperCase() }, ORIGIN, hasher, limits, NOW))).toBe('BAD_USER_INPUT');
  });

  it('refuses a signed event without its parents', () => {
    const { parents: _p, ...input } = signed();
    expect(thrownCodeOf(() => prepareInput(input, ORIGIN, hasher, limits, NOW))).toBe('BAD_USER_INPUT');
  });

  it('refuses an unsigned event claiming one of the server\'s DIDs as author', () => {
    expect(thrownCodeOf(() => prepareInput({ type: 't', actor: 'a', author }, ORIGIN, hasher, { ...limits, serverDids: [author] }, NOW))).toBe('BAD_USER_INPUT');
    expect(prepareInput({ type: 't', actor: 'a', author }, ORIGIN, hasher, limits, NOW).signed).toBeUndefined();
  });

  it('holds the payload limit to the byte', () => {
    const payload = { s: 'x'.repeat(limits.maxPayloadBytes - 8) }; // {"s":"…"} is 8 bytes more
    expect(prepareInput({ type: 't', actor: 'a', payload }, ORIGIN, hasher, limits, NOW).payloadText).toHaveLength(limits.maxPayloadBytes);
    const over = { s: 'x'.repeat(limits.maxPayloadBytes - 7) };
    expect(thrownCodeOf(() => prepareInput({ type: 't', actor: 'a', payload: over }, ORIGIN, hasher, limits, NOW))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses an hlc past 2^53-1 as malformed, even for an input that names one event', () => {
    const hlc = { physicalMs: 2 ** 53, logical: 0 };
    expect(thrownCodeOf(() => prepareInput({ type: 't', actor: 'a', hlc, idempotencyKey: 'k' }, ORIGIN, hasher, limits, NOW))).toBe('BAD_USER_INPUT');
  });

  it('refuses an hlc too far behind the server clock as well as ahead, for an input that names no event', () => {
    const at = (physicalMs: number) => () => prepareInput({ type: 't', actor: 'a', hlc: { physicalMs, logical: 0 } }, ORIGIN, hasher, limits, NOW);
    expect(thrownCodeOf(at(NOW - limits.hlcMaxSkewMs))).toBeUndefined();
    expect(thrownCodeOf(at(NOW - limits.hlcMaxSkewMs - 1))).toBe('HLC_OUT_OF_SKEW');
    expect(thrownCodeOf(at(NOW + limits.hlcMaxSkewMs + 1))).toBe('HLC_OUT_OF_SKEW');
  });

  it('defers that refusal for an input that names one event, which may be a retry of one stamped long ago', () => {
    const old = { physicalMs: NOW - limits.hlcMaxSkewMs - 1, logical: 0 };
    for (const names of [{ idempotencyKey: 'k' }, { parents: [] }]) {
      const p = prepareInput({ type: 't', actor: 'a', hlc: old, ...names }, ORIGIN, hasher, limits, NOW);
      expect(p.unlessRetry).toMatchObject({ code: 'HLC_OUT_OF_SKEW' });
    }
  });

  it('refuses a payload nested deeper than 64 levels, and takes one 64 deep', () => {
    const nest = (n: number) => {
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = { v };
      return v;
    };
    expect(thrownCodeOf(() => prepareInput({ type: 't', actor: 'a', payload: nest(65) }, ORIGIN, hasher, { ...limits, maxPayloadBytes: 10_000 }, NOW))).toBe('BAD_USER_INPUT');
    expect(prepareInput({ type: 't', actor: 'a', payload: nest(64) }, ORIGIN, hasher, { ...limits, maxPayloadBytes: 10_000 }, NOW).payloadText).toBeDefined();
  });

  it('an idempotency key holds 1..256 characters', () => {
    const withKey = (idempotencyKey: string) => () => prepareInput({ type: 't', actor: 'a', idempotencyKey }, ORIGIN, hasher, limits, NOW);
    expect(thrownCodeOf(withKey('k'.repeat(256)))).toBeUndefined();
    expect(thrownCodeOf(withKey('k'.repeat(257)))).toBe('BAD_USER_INPUT');
    expect(thrownCodeOf(withKey(''))).toBe('BAD_USER_INPUT');
  });
});

describe('prepareReplicated: a copy from a peer', () => {
  const sign = (b: Buffer) => key.sign(b);

  it('takes a signed copy of another origin as foreign, and one of ours as our own copy', () => {
    const bytes = bytesOf(envelope());
    const p = prepareReplicated(bytes, sign(bytes), ORIGIN, hasher, limits, NOW);
    expect(p.foreignOrigin).toBe('chainproof.test/there');
    expect(p.ownCopy).toBeUndefined();
    const mine = bytesOf(envelope({ ledger: ORIGIN }));
    const q = prepareReplicated(mine, sign(mine), ORIGIN, hasher, limits, NOW);
    expect(q.ownCopy).toBe(true);
    expect(q.foreignOrigin).toBeUndefined();
  });

  it('refuses a signature that does not verify for its author', () => {
    const bytes = bytesOf(envelope());
    expect(thrownCodeOf(() => prepareReplicated(bytes, sign(bytesOf(envelope({ actor: 'b' }))), ORIGIN, hasher, limits, NOW))).toBe('BAD_SIGNATURE');
  });

  it('takes an origin of 1..512 characters', () => {
    const copy = (ledger: string) => () => prepareReplicated(bytesOf(envelope({ ledger })), null, ORIGIN, hasher, limits, NOW);
    expect(thrownCodeOf(copy(''))).toBe('BAD_EVENT');
    expect(thrownCodeOf(copy('o'.repeat(512)))).toBeUndefined();
    expect(thrownCodeOf(copy('o'.repeat(513)))).toBe('BAD_EVENT');
  });

  it('refuses a payload nested deeper than 64 levels', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    expect(thrownCodeOf(() => prepareReplicated(bytesOf(envelope({ payload: deep })), null, ORIGIN, hasher, limits, NOW))).toBe('BAD_EVENT');
    let ok: unknown = 1;
    for (let i = 0; i < 64; i++) ok = [ok];
    expect(prepareReplicated(bytesOf(envelope({ payload: ok })), null, ORIGIN, hasher, limits, NOW).foreignOrigin).toBeDefined();
  });

  it('refuses an event larger than the payload limit allows', () => {
    const bytes = bytesOf(envelope({ payload: 'x'.repeat(limits.maxPayloadBytes + 4096) }));
    expect(thrownCodeOf(() => prepareReplicated(bytes, null, ORIGIN, hasher, limits, NOW))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a copy stamped further ahead of the clock than a client may be', () => {
    const bytes = bytesOf(envelope({ hlc: { physicalMs: NOW + limits.hlcMaxSkewMs + 1, logical: 0 } }));
    expect(thrownCodeOf(() => prepareReplicated(bytes, null, ORIGIN, hasher, limits, NOW))).toBe('HLC_OUT_OF_SKEW');
  });

  it('takes a copy stamped exactly as far ahead as a client may stamp', () => {
    const bytes = bytesOf(envelope({ hlc: { physicalMs: NOW + limits.hlcMaxSkewMs, logical: 5 } }));
    expect(prepareReplicated(bytes, null, ORIGIN, hasher, limits, NOW).input.hlc).toEqual({ physicalMs: NOW + limits.hlcMaxSkewMs, logical: 5 });
  });

  it('takes a copy whose payload is as large as a local append may carry, though its whole envelope is larger', () => {
    // A payload of exactly the limit, as prepareInput takes it: the envelope around it adds its other fields.
    const payload = { s: 'x'.repeat(limits.maxPayloadBytes - 8) };
    expect(prepareInput({ type: 't', actor: 'a', payload }, ORIGIN, hasher, limits, NOW).payloadText).toHaveLength(limits.maxPayloadBytes);
    const bytes = bytesOf(envelope({ payload }));
    expect(bytes.length).toBeGreaterThan(limits.maxPayloadBytes);
    expect(prepareReplicated(bytes, null, ORIGIN, hasher, limits, NOW).signed!.canonical.equals(bytes)).toBe(true);
  });
});

describe('parseCanonical refuses bytes that are not a canonical envelope', () => {
  const env = envelope();
  it('reads back a canonical envelope', () => {
    expect(parseCanonical(canonicalBytes(env))).toEqual(env);
  });

  it.each([
    // The actor "a" as the byte 0xff: decoded, it reads as U+FFFD, whose canonical text matches.
    ['not UTF-8', Buffer.concat([bytesOf(env).subarray(0, '{"actor":"'.length), Buffer.of(0xff), bytesOf(env).subarray('{"actor":"a'.length)])],
    ['an unknown field', bytesOf({ ...env, extra: 1 })],
    ['keys out of order', Buffer.from(JSON.stringify(Object.assign({ type: 't' }, env)))],
    ['a number where the ledger goes', bytesOf({ ...env, ledger: 5 })],
    ['parents that are not an array', bytesOf({ ...env, parents: {} })],
    ['a numeric author', bytesOf({ ...env, author: 5 })],
    ['a NUL in the actor', bytesOf({ ...env, actor: 'a\u0000b' })],
    ['an empty actor', bytesOf({ ...env, actor: '' })],
    ['a type of 129 characters', bytesOf({ ...env, type: 't'.repeat(129) })],
    ['a 513-character resource', bytesOf({ ...env, resource: 'r'.repeat(513) })],
    ['65 parents', bytesOf({ ...env, parents: Array.from({ length: 65 }, (_, i) => i.toString(16).padStart(64, '0')) })],
    ['an upper-case parent id', bytesOf({ ...env, parents: ['A'.repeat(64)] })],
    ['a repeated parent', bytesOf({ ...env, parents: ['a'.repeat(64), 'a'.repeat(64)] })],
    ['a negative physical time', bytesOf({ ...env, hlc: { physicalMs: -1, logical: 0 } })],
    ['a physical time past 2^53-1, which would read back as another', bytesOf({ ...env, hlc: { physicalMs: 2 ** 53, logical: 0 } })],
    ['a negative logical counter', bytesOf({ ...env, hlc: { physicalMs: 1, logical: -1 } })],
    ['a logical counter of 2^31', bytesOf({ ...env, hlc: { physicalMs: 1, logical: 2 ** 31 } })],
  ])('%s', (_label, bytes) => {
    expect(() => parseCanonical(bytes)).toThrow();
  });

  it('takes the limits themselves', () => {
    const parents = Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(64, '0')).sort();
    const edge = envelope({ type: 't'.repeat(128), resource: 'r'.repeat(512), parents, hlc: { physicalMs: 0, logical: 2 ** 31 - 1 } });
    expect(parseCanonical(bytesOf(edge))).toEqual(edge);
  });

  it('refuses an actor of 513 characters, one past the limit', () => {
    expect(parseCanonical(bytesOf(envelope({ actor: 'a'.repeat(512) }))).actor).toHaveLength(512);
    expect(() => parseCanonical(bytesOf(envelope({ actor: 'a'.repeat(513) })))).toThrow(/actor/);
  });
});
