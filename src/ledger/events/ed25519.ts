import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

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

/** Whether `signature` is `publicKey`'s Ed25519 signature of `message`; all three may come from an attacker. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const raw = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength);
  const cacheKey = raw.toString('base64url');
  try {
    let key = publicKeys.get(cacheKey);
    if (!key) {
      // JWK, not DER: OpenSSL 3's DER decoder costs ~90 µs a key here, as much as the verification itself.
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: cacheKey }, format: 'jwk' });
      if (publicKeys.size > 10_000) publicKeys.clear();
      publicKeys.set(cacheKey, key);
    }
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
