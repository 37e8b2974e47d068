import { base58 } from '@scure/base';
import { ChainproofError } from '../../errors.js';

const ED25519_MULTICODEC = [0xed, 0x01];
/** Base58btc characters of a multicodec-prefixed Ed25519 key: 34 bytes from 0xed01 00… to 0xed01 ff… all take 47. */
const ED25519_BASE58_LENGTH = 47;

/**
 * The Ed25519 public key inside a `did:key:z6Mk…` DID (multibase base58btc of the
 * multicodec-prefixed key). Attacker-controlled input: every malformation is refused.
 */
export function publicKeyFromDidKey(did: string, field = 'author'): Buffer {
  if (!did.startsWith('did:key:z')) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} ${JSON.stringify(did.slice(0, 80))} is not a did:key DID`);
  }
  // Checked before decoding: base58 decoding takes time quadratic in the length, and a DID
  // thousands of characters long (a signed request's header) would cost milliseconds each.
  if (did.length !== 'did:key:z'.length + ED25519_BASE58_LENGTH) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} DID does not carry an Ed25519 key`);
  }
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(did.slice('did:key:z'.length));
  } catch (cause) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} DID is not valid base58btc`, { cause });
  }
  if (bytes.length !== 34 || bytes[0] !== ED25519_MULTICODEC[0] || bytes[1] !== ED25519_MULTICODEC[1]) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} DID does not carry an Ed25519 key`);
  }
  return Buffer.from(bytes.subarray(2));
}

/** `did:key` for an Ed25519 public key. */
export function didKeyFromPublicKey(publicKey: Uint8Array): string {
  return `did:key:z${base58.encode(Uint8Array.from([...ED25519_MULTICODEC, ...publicKey]))}`;
}
