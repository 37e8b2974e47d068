import { createHash } from 'node:crypto';
import { ED25519_SIGNING, ed25519FromSeed, type Ed25519Library } from '../events/ed25519.js';
import { isValidKeyName } from './encoding.js';
import { NoteError } from './errors.js';
import { SigningThreads } from './signing-threads.js';

/** Signature type byte for Ed25519 in c2sp.org/signed-note. */
export const ED25519_ALG = 0x01;

export interface NoteSigner {
  readonly name: string;
  /** 4-byte key ID, big-endian, as it appears at the front of each signature. */
  readonly keyHash: Buffer;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** `<name>+<8 hex keyhash>+<base64(0x01 || pubkey)>` — what verifiers are configured with. */
  readonly verifierKey: string;
  /** Raw 64-byte Ed25519 signature over `message`. */
  sign(message: Uint8Array): Buffer;
  /**
   * One signature per message, in order: a few signed on this thread, many on signing threads
   * (see SigningThreads), so a large batch leaves this thread free for other work.
   */
  signMany(messages: readonly Uint8Array[]): Promise<Buffer[]>;
}

/** Fewest messages worth the hop to the signing threads; fewer are signed here at once. */
const THREADED_SIGNING_MIN = 64;

export function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw new NoteError('BAD_KEY_NAME', `invalid key name ${JSON.stringify(name)}: must be non-empty with no spaces, '+' or control characters`);
  }
}

/** key ID = SHA-256(name || 0x0A || alg || pubkey)[:4]; alg 0x01 signs notes, 0x04 cosigns checkpoints. */
export function computeKeyHash(name: string, publicKey: Uint8Array, alg = ED25519_ALG): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, alg]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

export function formatVerifierKey(name: string, keyHash: Uint8Array, publicKey: Uint8Array, alg = ED25519_ALG): string {
  const key = Buffer.concat([Buffer.from([alg]), publicKey]);
  return `${name}+${Buffer.from(keyHash).toString('hex')}+${key.toString('base64')}`;
}

export function noteSignerFromSeed(name: string, seed: Uint8Array, library: Ed25519Library = ED25519_SIGNING): NoteSigner {
  assertKeyName(name);
  const { publicKey, sign } = ed25519FromSeed(seed, library);
  const keyHash = computeKeyHash(name, publicKey);
  const threads = new SigningThreads(seed, library);
  return Object.freeze({
    name,
    keyHash,
    publicKey,
    verifierKey: formatVerifierKey(name, keyHash, publicKey),
    sign,
    // Threads that cannot start or that die cost speed, never signatures: the list is then signed here.
    signMany: async (messages: readonly Uint8Array[]) =>
      messages.length < THREADED_SIGNING_MIN ? messages.map(sign) : threads.signAll(messages).catch(() => messages.map(sign)),
  });
}
