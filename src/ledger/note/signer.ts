import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign } from 'node:crypto';
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

// PKCS#8 wrapper for a bare 32-byte Ed25519 seed (RFC 8410); node:crypto cannot import raw seeds otherwise.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

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

export function noteSignerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  assertKeyName(name);
  if (seed.length !== 32) throw new RangeError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  // SPKI for Ed25519 is a fixed 12-byte header followed by the raw key.
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(spki.length - 32));
  const keyHash = computeKeyHash(name, publicKey);
  const threads = new SigningThreads(privateKey);
  const sign = (message: Uint8Array) => cryptoSign(null, message, privateKey);
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
