import { ed25519FromSeed, ed25519Verify } from '../events/ed25519.js';
import { decodeBase64Strict, isValidKeyName } from './encoding.js';
import { NoteError } from './errors.js';
import { assertKeyName, computeKeyHash, formatVerifierKey } from './signer.js';

/** Signature type of an Ed25519 checkpoint cosignature (c2sp.org/tlog-cosignature). */
export const COSIGNATURE_ALG = 0x04;
const SIG_PREFIX = '\u2014 ';

/** A witness's cosigning key. Its messages differ from a note signer's, so the key must too. */
export interface Cosigner {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly publicKey: Buffer;
  /** `<name>+<hash>+<base64(0x04 || pubkey)>`. */
  readonly verifierKey: string;
  /** The note signature line (with its newline) cosigning checkpoint `body` at `timestampS`. */
  cosign(body: string, timestampS: number): string;
}

/**
 * `cosignature/v1\ntime <t>\n` followed by the checkpoint body (its text, without signatures).
 *
 * @example cosignedMessage('example.com/log\n5\n…=\n', 1679315147)
 */
export function cosignedMessage(body: string, timestampS: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestampS}\n${body}`, 'utf8');
}

export function cosignerFromSeed(name: string, seed: Uint8Array): Cosigner {
  assertKeyName(name);
  const key = ed25519FromSeed(seed);
  const publicKey = key.publicKey;
  const keyHash = computeKeyHash(name, publicKey, COSIGNATURE_ALG);
  return Object.freeze({
    name,
    keyHash,
    publicKey,
    verifierKey: formatVerifierKey(name, keyHash, publicKey, COSIGNATURE_ALG),
    cosign(body: string, timestampS: number) {
      const time = Buffer.alloc(8);
      time.writeBigUInt64BE(BigInt(timestampS));
      const sig = key.sign(cosignedMessage(body, timestampS));
      return `${SIG_PREFIX}${name} ${Buffer.concat([keyHash, time, sig]).toString('base64')}\n`;
    },
  });
}

export interface CosignerKey {
  name: string;
  keyHash: Buffer;
  publicKey: Buffer;
}

export function parseCosignerKey(vkey: string): CosignerKey {
  const bad = (why: string): never => {
    throw new NoteError('BAD_VERIFIER_KEY', `invalid cosigner key: ${why}`);
  };
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) bad('want <name>+<hash>+<key>');
  const name = vkey.slice(0, first);
  if (!isValidKeyName(name)) bad(`bad key name ${JSON.stringify(name)}`);
  const key = decodeBase64Strict(vkey.slice(second + 1));
  if (!key || key.length !== 33 || key[0] !== COSIGNATURE_ALG) bad('only Ed25519 cosignature keys (type 0x04) are supported');
  const publicKey = Buffer.from(key!.subarray(1));
  const hashHex = vkey.slice(first + 1, second);
  // Buffer.from(…, 'hex') stops at the first character that is not hex: checked whole first.
  if (!/^[0-9a-fA-F]{8}$/.test(hashHex)) bad('the key hash must be 8 hex digits');
  const keyHash = Buffer.from(hashHex, 'hex');
  if (!keyHash.equals(computeKeyHash(name, publicKey, COSIGNATURE_ALG))) bad('key hash does not match name and key');
  return { name, keyHash, publicKey };
}

/**
 * Checks one signature line (attacker-controlled) as a cosignature by `key` over the
 * checkpoint `body`; returns its timestamp, or null if it is not one.
 */
export function verifyCosignature(body: string, line: string, key: CosignerKey): { timestampS: number } | null {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  if (!text.startsWith(`${SIG_PREFIX}${key.name} `)) return null;
  const raw = decodeBase64Strict(text.slice(SIG_PREFIX.length + key.name.length + 1));
  if (!raw || raw.length !== 4 + 8 + 64 || !raw.subarray(0, 4).equals(key.keyHash)) return null;
  const timestamp = raw.readBigUInt64BE(4);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const timestampS = Number(timestamp);
  return ed25519Verify(key.publicKey, cosignedMessage(body, timestampS), raw.subarray(12)) ? { timestampS } : null;
}
