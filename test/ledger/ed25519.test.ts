import * as ed from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { ed25519FromSeed, ed25519Verify } from '../../src/ledger/events/ed25519.js';

const seed = Buffer.alloc(32, 7);
const key = ed25519FromSeed(seed);
const message = Buffer.from('{"type":"chainproof.vote/v1"}');

describe('ed25519 on node:crypto', () => {
  it('signs and verifies exactly as @noble/ed25519 does', async () => {
    expect(key.publicKey).toEqual(Buffer.from(await ed.getPublicKeyAsync(seed)));
    const signature = key.sign(message);
    expect(signature).toEqual(Buffer.from(await ed.signAsync(message, seed)));
    expect(ed25519Verify(key.publicKey, message, signature)).toBe(true);
    // Twice: the second time from the key cache.
    expect(ed25519Verify(key.publicKey, message, signature)).toBe(true);
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
