import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** An Ed25519 key pair from a 32-byte seed, on node:crypto (the hot path; ~10× @noble). */
export interface Ed25519Key {
  publicKey: Buffer;
  sign(message: Uint8Array): Buffer;
}

export function ed25519FromSeed(seed: Uint8Array): Ed25519Key {
  if (seed.length !== 32) throw new RangeError('Ed25519 seed must be 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    publicKey: Buffer.from(spki.subarray(spki.length - 32)),
    sign: (message) => sign(null, message, privateKey),
  };
}

const publicKeys = new Map<string, KeyObject>();

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const cacheKey = Buffer.from(publicKey).toString('hex');
  let key = publicKeys.get(cacheKey);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeys.size > 10_000) publicKeys.clear();
    publicKeys.set(cacheKey, key);
  }
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
