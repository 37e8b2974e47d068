import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { Config } from '../config.js';
import { ChainproofError } from '../errors.js';
import { didKeyFromPublicKey } from './events/did-key.js';
import { cosignerFromSeed, noteSignerFromSeed, openNote, parseVerifierKey, verifyNote, type Cosigner, type NoteSigner } from './note/index.js';
import type { ServerSigner } from './sequencer.js';

/** The server's Ed25519 identity: it signs checkpoints (as a note) and its own events (as a did:key). */
export interface ServerKey extends ServerSigner {
  note: NoteSigner;
  /**
   * The key this node cosigns other logs' checkpoints with, as a witness, named
   * `<origin prefix>/witness`. Derived from the signing seed (SHA-256 of a label and the seed)
   * so one secret serves, yet the two keys differ as c2sp.org/tlog-cosignature requires.
   */
  cosigner: Cosigner;
  /** Where the key came from, for the start-up message; never the key itself. */
  source: string;
  /** Verifier keys the log was signed with before this one (CHAINPROOF_PREVIOUS_VERIFIER_KEYS). */
  previous: readonly string[];
  /** The did:keys the server has written under: its own first, then those of its previous keys. */
  dids: readonly string[];
}

/**
 * The signing key from `CHAINPROOF_SIGNING_SEED`, a key file, or — on the embedded default
 * only — a key generated once in the data directory. Against a shared PostgreSQL there is no
 * fallback: a throwaway key would sign checkpoints nobody can check later.
 */
export function loadServerKey(
  config: Pick<Config, 'signingSeedHex' | 'signingKeyFile' | 'dataDir' | 'originPrefix'> & Partial<Pick<Config, 'previousVerifierKeys'>>,
  embedded: boolean,
  signedBefore = false,
): { key: ServerKey; created: boolean } | undefined {
  let seedHex = config.signingSeedHex;
  let source = 'CHAINPROOF_SIGNING_SEED';
  let created = false;
  if (!seedHex && config.signingKeyFile) {
    seedHex = readSeedFile(config.signingKeyFile);
    source = config.signingKeyFile;
  }
  if (!seedHex && embedded) {
    const path = join(config.dataDir, 'signing.key');
    if (!existsSync(path)) {
      // A new key would silently make every checkpoint already signed fail verification.
      if (signedBefore) {
        throw new ChainproofError(
          'SIGNING_KEY_MISSING',
          `signing key ${path} is missing but the ledger holds checkpoints signed with it; restore the file, or set CHAINPROOF_SIGNING_SEED or CHAINPROOF_SIGNING_KEY_FILE`,
        );
      }
      writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    }
    chmodSync(path, 0o600);
    seedHex = readSeedFile(path);
    source = path;
  }
  if (!seedHex) return undefined;
  const seed = Buffer.from(seedHex, 'hex');
  const note = noteSignerFromSeed(config.originPrefix, seed);
  const cosigner = cosignerFromSeed(`${config.originPrefix}/witness`, createHash('sha256').update('chainproof/witness-key/v1\n').update(seed).digest());
  const did = didKeyFromPublicKey(note.publicKey);
  const previous = (config.previousVerifierKeys ?? []).filter((k) => k !== note.verifierKey);
  const dids = [did, ...previous.map((k) => didKeyFromPublicKey(parseVerifierKey(k).publicKey))];
  return {
    created,
    key: { note, cosigner, source, did, previous, dids: [...new Set(dids)], signMany: (m) => note.signMany(m) },
  };
}

/**
 * The server's key for a database just opened. On the embedded one a key is generated on first
 * use, but not once any checkpoint is signed: a new key would make those fail verification.
 * Nor is a configured key taken that did not sign the newest checkpoint (see checkSignedBefore).
 */
export async function openServerKey(
  config: Parameters<typeof loadServerKey>[0],
  db: { kind: 'postgres' | 'embedded'; dataSource: DataSource },
  { keyCheck = true }: { keyCheck?: boolean } = {},
): Promise<ReturnType<typeof loadServerKey>> {
  const [newest] = (await db.dataSource.query('SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1')) as Array<{ note: string }>;
  const loaded = loadServerKey(config, db.kind === 'embedded', newest !== undefined);
  if (loaded && newest && keyCheck) checkSignedBefore(loaded.key, newest.note);
  return loaded;
}

/**
 * A log's checkpoints are checked with the verifier key its verifiers hold (RFC 9162, C2SP
 * tlog-checkpoint): a server started with another seed, or another CHAINPROOF_ORIGIN (the key's
 * name), would sign checkpoints that fail against it, and mix two keys in one log unannounced.
 * So it does not start, unless the key that signed the newest checkpoint is listed as a previous
 * one: a rotation, which the operator publishes along with the new key.
 */
export function checkSignedBefore(key: ServerKey, newestNote: string): void {
  const trusted = [key.note.verifierKey, ...key.previous];
  try {
    verifyNote(newestNote, trusted);
  } catch (cause) {
    const by = openNote(newestNote).signatures[0];
    const signer = by && `${by.name}+${by.keyHash.toString('hex')}`;
    const named = (vkey: string) => vkey.split('+').slice(0, 2).join('+');
    if (signer && trusted.some((k) => named(k) === signer)) {
      // A trusted key signed it, and the signature fails: the checkpoint was changed after signing.
      throw new ChainproofError(
        'CHECKPOINT_TAMPERED',
        `the newest checkpoint names the key ${signer} but its signature does not verify: it was changed after signing; run chainproof verify --full`,
        { cause },
      );
    }
    throw new ChainproofError(
      'SIGNING_KEY_MISMATCH',
      `the newest checkpoint was signed by ${signer ?? 'another key'}, not by this server's key ${named(key.note.verifierKey)}` +
        `${key.previous.length > 0 ? ' nor a key in CHAINPROOF_PREVIOUS_VERIFIER_KEYS' : ''}; configure the seed (and CHAINPROOF_ORIGIN) that signed it, ` +
        'or, to rotate to this key, list the verifier key that signed it in CHAINPROOF_PREVIOUS_VERIFIER_KEYS',
      { cause },
    );
  }
}

function readSeedFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new ChainproofError('CONFIG_INVALID', `signing key file ${path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new ChainproofError('CONFIG_INVALID', `signing key file ${path} must hold 64 hex characters (a 32-byte seed)`);
  }
  return text.toLowerCase();
}
