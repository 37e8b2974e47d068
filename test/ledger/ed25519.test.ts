import * as ed from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ED25519_SIGNING, ed25519FromSeed, ed25519Verify, type Ed25519Library } from '../../src/ledger/events/ed25519.js';

const seed = Buffer.alloc(32, 7);
const key = ed25519FromSeed(seed);
const message = Buffer.from('{"type":"chainproof.vote/v1"}');
const LIBRARIES: Ed25519Library[] = ['libsodium', 'openssl'];

describe('ed25519', () => {
  it.runIf(process.platform === 'linux' && process.arch === 'x64')('signs with libsodium on linux-x64, where sodium-native is prebuilt', () => {
    expect(ED25519_SIGNING).toBe('libsodium');
  });

  it.each(LIBRARIES)('signs with %s exactly as @noble/ed25519 does, and verifies', async (library) => {
    const key = ed25519FromSeed(seed, library);
    expect(key.publicKey).toEqual(Buffer.from(await ed.getPublicKeyAsync(seed)));
    const signature = key.sign(message);
    expect(signature).toEqual(Buffer.from(await ed.signAsync(message, seed)));
    expect(ed25519Verify(key.publicKey, message, signature)).toBe(true);
    // Twice: the second time from the key cache.
    expect(ed25519Verify(key.publicKey, message, signature)).toBe(true);
  });

  it('verifies nothing for a key of small order, in any of its encodings, as RFC 8032\'s strict rules and verifyNote', async () => {
    // The eight points of small order: the identity, then orders 2, 4 and 8, each with both x signs where x is not 0.
    const smallOrder = [
      '0100000000000000000000000000000000000000000000000000000000000000',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0000000000000000000000000000000000000000000000000000000000000080',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    ];
    for (const hex of smallOrder) expect(ed.Point.fromHex(hex).isSmallOrder(), hex).toBe(true);
    // With any of them as A and the identity as R, [S]B = R + [k]A holds for S = 0 and every message.
    const forged = Buffer.concat([Buffer.from([1]), Buffer.alloc(63)]);
    const identity = Buffer.from(smallOrder[0]!, 'hex');
    expect(await ed.verifyAsync(forged, message, identity, { zip215: true })).toBe(true);
    for (const hex of smallOrder) {
      for (const m of [message, Buffer.from('any other message')]) {
        // Twice: the second time from the key cache.
        expect(ed25519Verify(Buffer.from(hex, 'hex'), m, forged), hex).toBe(false);
        expect(ed25519Verify(Buffer.from(hex, 'hex'), m, forged), hex).toBe(false);
      }
    }
    // Other encodings of small-order points: x = 0 with the sign bit set, y = p (0) and y = p + 1 (1) either sign.
    const otherEncodings = [
      '0100000000000000000000000000000000000000000000000000000000000080',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ];
    for (const hex of otherEncodings) expect(ed25519Verify(Buffer.from(hex, 'hex'), message, forged), hex).toBe(false);
    // A genuine key still verifies after refused ones have been cached.
    expect(ed25519Verify(key.publicKey, message, key.sign(message))).toBe(true);
  });

  it('gives the same key and signature bytes on either library, for any seed and message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 2048 }), (seed, message) => {
        const [sodium, openssl] = LIBRARIES.map((library) => ed25519FromSeed(seed, library));
        expect(sodium!.publicKey).toEqual(openssl!.publicKey);
        expect(sodium!.sign(message)).toEqual(openssl!.sign(message));
      }),
      { numRuns: 300 },
    );
  });

  it('derives as many keys as a tool needs and keeps them all (guarded memory ran out of mappings at ≈ 65,000)', () => {
    const keys = Array.from({ length: 70_000 }, (_, i) => ed25519FromSeed(Buffer.alloc(32, i % 251).fill(i >>> 8, 0, 4), 'libsodium'));
    const last = Buffer.alloc(32, 69_999 % 251).fill(69_999 >>> 8, 0, 4);
    expect(keys.at(-1)!.sign(message)).toEqual(ed25519FromSeed(last, 'openssl').sign(message));
  });

  it('refuses a seed that is not 32 bytes on either library', () => {
    for (const library of LIBRARIES) expect(() => ed25519FromSeed(Buffer.alloc(31), library)).toThrow(RangeError);
  });

  it('refuses a wrong message, signature or key, and never throws on attacker bytes', () => {
    const signature = key.sign(message);
    expect(ed25519Verify(key.publicKey, Buffer.from('{}'), signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[5]! ^= 1;
    expect(ed25519Verify(key.publicKey, message, flipped)).toBe(false);
    expect(ed25519Verify(ed25519FromSeed(Buffer.alloc(32, 8)).publicKey, message, signature)).toBe(false);
    // Not a curve point, wrong lengths.
    expect(ed25519Verify(Buffer.alloc(32, 0xff), message, signature)).toBe(false);
    expect(ed25519Verify(key.publicKey.subarray(1), message, signature)).toBe(false);
    expect(ed25519Verify(key.publicKey, message, signature.subarray(1))).toBe(false);
  });
});
