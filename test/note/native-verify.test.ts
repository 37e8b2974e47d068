import { describe, expect, it, vi } from 'vitest';

// Counts the signature checks done by the native (OpenSSL) verifier, which it still does.
const native = vi.hoisted(() => ({ calls: 0 }));
vi.mock('../../src/ledger/events/ed25519.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/ledger/events/ed25519.js')>();
  return {
    ...real,
    ed25519Verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
      native.calls++;
      return real.ed25519Verify(publicKey, message, signature);
    },
  };
});

const { formatCheckpoint, noteSignerFromSeed, signNote, verifyNote } = await import('../../src/ledger/note/index.js');
const { thrownCodeOf } = await import('../support/codes.js');

describe('verifyNote', () => {
  // Anyone may POST a note to a witness's add-checkpoint: each known signature on it is checked
  // before anything else. @noble/ed25519 spent ≈ 2.3 ms of the main thread on one (OpenSSL ≈ 0.12 ms),
  // so one client within the rate limit could keep the process busy with forged notes alone.
  it('checks signatures natively, as the server\'s other Ed25519 checks, with the same verdicts', () => {
    const log = noteSignerFromSeed('example.com/log', Buffer.alloc(32, 3));
    const note = signNote(formatCheckpoint({ origin: 'example.com/log', treeSize: 5, rootHash: Buffer.alloc(32, 9) }), [log]);
    native.calls = 0;
    expect(verifyNote(note, [log.verifierKey]).verifiedBy).toEqual(['example.com/log']);
    // The signature moved onto another tree size: the same R and S, over other text.
    const forged = note.replace('\n5\n', '\n6\n');
    expect(thrownCodeOf(() => verifyNote(forged, [log.verifierKey]))).toBe('BAD_SIGNATURE');
    expect(native.calls).toBe(2);
  });
});
