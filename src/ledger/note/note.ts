import { ed25519Verify } from '../events/ed25519.js';
import { decodeBase64Strict, isValidKeyName, isValidNoteText } from './encoding.js';
import { NoteError } from './errors.js';
import { assertKeyName, computeKeyHash, ED25519_ALG, type NoteSigner } from './signer.js';

const SIG_PREFIX = '\u2014 ';
/** Same cap as Go's sumdb/note: bounds work spent on hostile notes (spec requires accepting >= 16). */
export const MAX_SIGNATURES = 100;

export interface NoteSignature {
  name: string;
  keyHash: Buffer;
  signature: Buffer;
}

export interface VerifierKey {
  name: string;
  keyHash: Buffer;
  publicKey: Buffer;
}

function badVerifierKey(why: string): never {
  throw new NoteError('BAD_VERIFIER_KEY', `invalid verifier key: ${why}`);
}

function malformedNote(why: string): never {
  throw new NoteError('MALFORMED_NOTE', `malformed note: ${why}`);
}

export function parseVerifierKey(vkey: string): VerifierKey {
  if (typeof vkey !== 'string') badVerifierKey('not a string');
  // Names never contain '+', but standard base64 may: split at the first two only.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) badVerifierKey('want <name>+<hash>+<key>');
  const [name, hashHex, keyB64] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (!isValidKeyName(name)) badVerifierKey(`bad key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-fA-F]{8}$/.test(hashHex)) badVerifierKey('key hash must be 8 hex digits');
  const key = decodeBase64Strict(keyB64);
  if (!key) badVerifierKey('key is not canonical base64');
  if (key.length !== 33 || key[0] !== ED25519_ALG) badVerifierKey('only Ed25519 (type 0x01, 32-byte) keys are supported');
  const publicKey = Buffer.from(key.subarray(1));
  const keyHash = Buffer.from(hashHex, 'hex');
  // A mismatched hash means the name, hash and key were not issued together.
  if (!keyHash.equals(computeKeyHash(name, publicKey))) badVerifierKey('key hash does not match name and key');
  return { name, keyHash, publicKey };
}

export function signNote(text: string, signers: NoteSigner[]): string {
  assertSignableText(text);
  if (signers.length === 0) throw new NoteError('MALFORMED_NOTE', 'a signed note needs at least one signature');
  if (signers.length > MAX_SIGNATURES) throw new NoteError('MALFORMED_NOTE', `more than ${MAX_SIGNATURES} signatures`);
  const message = Buffer.from(text, 'utf8');
  let out = text + '\n';
  for (const signer of signers) {
    assertKeyName(signer.name);
    if (signer.keyHash.length !== 4) throw new TypeError(`signer ${signer.name} has a key hash that is not 4 bytes`);
    const sig = Buffer.concat([signer.keyHash, signer.sign(message)]);
    out += `${SIG_PREFIX}${signer.name} ${sig.toString('base64')}\n`;
  }
  return out;
}

function assertSignableText(text: string): void {
  if (typeof text !== 'string' || text.length === 0 || !text.endsWith('\n')) {
    throw new NoteError('MALFORMED_NOTE', 'note text must be non-empty and end with a newline');
  }
  if (!isValidNoteText(text)) {
    throw new NoteError('MALFORMED_NOTE', 'note text must be valid UTF-8 without control characters other than newline');
  }
}

/** Splits a note into text and signature lines without checking any signature. */
export function openNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (typeof note !== 'string') malformedNote('not a string');
  if (!isValidNoteText(note)) malformedNote('invalid UTF-8 or control characters');
  // The text may itself contain blank lines; the signatures start after the last one.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) malformedNote('no blank line before signatures');
  const text = note.slice(0, split + 1);
  const sigBlock = note.slice(split + 2);
  if (sigBlock.length === 0 || !sigBlock.endsWith('\n')) malformedNote('signature block must be non-empty and end with a newline');

  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) malformedNote(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) malformedNote('signature line must start with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    // Names cannot contain spaces, so the first space ends the name.
    const space = rest.indexOf(' ');
    if (space < 0) malformedNote('signature line has no signature');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) malformedNote(`bad key name ${JSON.stringify(name)}`);
    const raw = decodeBase64Strict(rest.slice(space + 1));
    if (!raw || raw.length < 5) malformedNote('signature is not base64 of a key hash and signature');
    return { name, keyHash: Buffer.from(raw.subarray(0, 4)), signature: Buffer.from(raw.subarray(4)) };
  });
  return { text, signatures };
}

/**
 * Verifies a note against trusted verifier keys, following c2sp.org/signed-note: signatures from
 * unknown (name, key hash) pairs are ignored, any failing signature from a known key rejects the
 * whole note, and at least one known key must have signed. `verifiedBy` lists the key names whose
 * signatures verified, in signature order.
 */
export function verifyNote(note: string, verifierKeys: string[]): { text: string; verifiedBy: string[] } {
  const known = new Map<string, VerifierKey>();
  for (const vkey of verifierKeys) {
    const k = parseVerifierKey(vkey);
    const id = lookupId(k.name, k.keyHash);
    const prev = known.get(id);
    if (prev && !prev.publicKey.equals(k.publicKey)) {
      throw new NoteError('BAD_VERIFIER_KEY', `two different keys share name ${k.name} and key hash ${k.keyHash.toString('hex')}`);
    }
    known.set(id, k);
  }

  const { text, signatures } = openNote(note);
  const message = Buffer.from(text, 'utf8');
  const verifiedBy: string[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const id = lookupId(sig.name, sig.keyHash);
    const key = known.get(id);
    if (!key || seen.has(id)) continue;
    seen.add(id);
    // Natively (OpenSSL, with RFC 8032's strict rules: S < L, keys of small order verify nothing):
    // a note is anyone's to send to a witness, and @noble/ed25519 took ≈ 20 times as long a check.
    if (!ed25519Verify(key.publicKey, message, sig.signature)) {
      throw new NoteError('BAD_SIGNATURE', `signature by ${sig.name}+${sig.keyHash.toString('hex')} does not verify`);
    }
    verifiedBy.push(sig.name);
  }
  if (verifiedBy.length === 0) throw new NoteError('UNVERIFIED_NOTE', 'no signature from a trusted key');
  return { text, verifiedBy };
}

function lookupId(name: string, keyHash: Uint8Array): string {
  // '+' cannot occur in names, so this key is unambiguous.
  return `${name}+${Buffer.from(keyHash).toString('hex')}`;
}
