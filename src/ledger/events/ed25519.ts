import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Which library signs. RFC 8032 signatures are deterministic, so both give the same bytes;
 * libsodium (the optional `sodium-native`) signs in half OpenSSL's time (bench/HISTORY.md, run 21),
 * which matters where the server signs every event it writes. Verification stays on OpenSSL
 * whatever signs: which signatures count as valid must not depend on what is installed.
 */
export type Ed25519Library = 'libsodium' | 'openssl';

/** The parts of sodium-native used here. */
interface Sodium {
  crypto_sign_seed_keypair(publicKey: Buffer, secretKey: Buffer, seed: Buffer): void;
  crypto_sign_detached(signature: Buffer, message: Uint8Array, secretKey: Buffer): void;
}

/** sodium-native, if it is installed and loads on this platform, and where it is (signing threads load it from there). */
const SODIUM: { path: string; lib: Sodium } | undefined = (() => {
  try {
    const require = createRequire(import.meta.url);
    const path = require.resolve('sodium-native');
    return { path, lib: require(path) as Sodium };
  } catch {
    return undefined;
  }
})();

/** What signs when nothing else is asked for: libsodium where it loads, else OpenSSL. */
export const ED25519_SIGNING: Ed25519Library = SODIUM ? 'libsodium' : 'openssl';

/** sodium-native's path, for a thread to load it; throws where it does not load. */
export function sodiumPath(): string {
  return sodium().path;
}

function sodium(): { path: string; lib: Sodium } {
  if (!SODIUM) throw new Error('libsodium (sodium-native) is not installed or does not load here');
  return SODIUM;
}

/** An Ed25519 key pair from a 32-byte seed, native either way (the hot path; ~10× @noble). */
export interface Ed25519Key {
  publicKey: Buffer;
  sign(message: Uint8Array): Buffer;
}

/**
 * @example
 *   const key = ed25519FromSeed(seed);            // libsodium if installed
 *   key.sign(bytes).equals(ed25519FromSeed(seed, 'openssl').sign(bytes)); // true
 */
export function ed25519FromSeed(seed: Uint8Array, library: Ed25519Library = ED25519_SIGNING): Ed25519Key {
  if (seed.length !== 32) throw new RangeError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
  if (library === 'libsodium') {
    const { lib } = sodium();
    const publicKey = Buffer.alloc(32);
    // Plain memory, as OpenSSL's keys: libsodium's guarded memory costs a locked mapping per key,
    // and tools deriving many keys (100,000 voters) ran into the kernel's limit of 65,530 mappings.
    const secretKey = Buffer.alloc(64);
    lib.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.from(seed));
    return {
      publicKey,
      sign: (message) => {
        const signature = Buffer.allocUnsafe(64);
        lib.crypto_sign_detached(signature, message, secretKey);
        return signature;
      },
    };
  }
  const privateKey = opensslPrivateKey(seed);
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    publicKey: Buffer.from(spki.subarray(spki.length - 32)),
    sign: (message) => sign(null, message, privateKey),
  };
}

/** node:crypto cannot import a bare seed: it goes in a PKCS#8 wrapper (RFC 8410). */
export const opensslPrivateKey = (seed: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });

/** Keys seen, each with its OpenSSL key object, or null for a key refused as weak (see largeOrder). */
const publicKeys = new Map<string, KeyObject | null>();

/**
 * The encodings of the points of small order, the sign bit left out (it is cleared before
 * comparing): 0 and 1, the two of order 8, and p - 1, p and p + 1, the last two non-canonical
 * encodings of 0 and 1 (libsodium's list). The sign bit covers each point's other encoding.
 */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Buffer.from(hex, 'hex'));

/**
 * Whether `publicKey` is of large order, as RFC 8032's strict rules and verifyNote (@noble) ask.
 * OpenSSL does not check, and a small-order key verifies a signature (R the identity, S = 0) of
 * every message: anyone could sign as its did:key. Compared as bytes: decoding the point costs
 * ≈ 200 µs a key in JS. (Other non-canonical encodings name points of large order, whose
 * discrete logarithm nobody knows: nothing verifies under them.)
 */
function largeOrder(publicKey: Buffer): boolean {
  const y = Buffer.from(publicKey);
  y[31]! &= 0x7f;
  return !SMALL_ORDER.some((e) => e.equals(y));
}

/**
 * Whether `signature` is `publicKey`'s Ed25519 signature of `message`; all three may come from an
 * attacker. Keys of small order verify nothing.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const raw = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength);
  const cacheKey = raw.toString('base64url');
  try {
    let key = publicKeys.get(cacheKey);
    if (key === undefined) {
      // JWK, not DER: OpenSSL 3's DER decoder costs ~90 µs a key here, as much as the verification itself.
      key = largeOrder(raw) ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: cacheKey }, format: 'jwk' }) : null;
      if (publicKeys.size > 10_000) publicKeys.clear();
      publicKeys.set(cacheKey, key);
    }
    return key !== null && verify(null, message, key, signature);
  } catch {
    return false;
  }
}
