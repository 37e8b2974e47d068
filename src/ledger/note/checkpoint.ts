import { decodeBase64Strict, isValidNoteText } from './encoding.js';
import { NoteError } from './errors.js';

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: Uint8Array;
  extensions?: string[];
}

export interface ParsedCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
  extensions: string[];
}

/** Roots are RFC 6962 / 9162 SHA-256 Merkle tree hashes. */
export const ROOT_HASH_BYTES = 32;

const DECIMAL_RE = /^(?:0|[1-9][0-9]*)$/;

function bad(why: string): never {
  throw new NoteError('MALFORMED_CHECKPOINT', `malformed checkpoint: ${why}`);
}

function checkLine(line: string, what: string): void {
  if (line.length === 0) bad(`${what} must be non-empty`);
  if (line.includes('\n') || !isValidNoteText(line)) bad(`${what} must be one line of UTF-8 text without control characters`);
}

/** Builds the checkpoint note body (c2sp.org/tlog-checkpoint); sign it with signNote. */
export function formatCheckpoint(c: Checkpoint): string {
  checkLine(c.origin, 'origin');
  if (!Number.isSafeInteger(c.treeSize) || c.treeSize < 0) bad('tree size must be a non-negative safe integer');
  if (c.rootHash.length !== ROOT_HASH_BYTES) bad(`root hash must be ${ROOT_HASH_BYTES} bytes`);
  const extensions = c.extensions ?? [];
  for (const ext of extensions) checkLine(ext, 'extension line');
  const lines = [c.origin, String(c.treeSize), Buffer.from(c.rootHash).toString('base64'), ...extensions];
  return lines.join('\n') + '\n';
}

/**
 * The tree hash a checkpoint names in its `hash <alg>` extension line: SHA-256, C2SP's, when it
 * names none; null when it names more than one.
 *
 * @example checkpointHashAlg(['block 3 ab…', 'hash blake3']) // 'blake3'
 */
export function checkpointHashAlg(extensions: readonly string[]): string | null {
  const named = extensions.filter((l) => l.startsWith('hash '));
  if (named.length > 1) return null;
  return named.length === 0 ? 'sha256' : named[0]!.slice(5);
}

/** Parses a checkpoint note body (the verified text of a signed note, not the whole note). */
export function parseCheckpoint(text: string): ParsedCheckpoint {
  if (typeof text !== 'string' || !text.endsWith('\n')) bad('must end with a newline');
  if (!isValidNoteText(text)) bad('invalid UTF-8 or control characters');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('need origin, tree size and root hash lines');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) bad('origin must be non-empty');
  // Canonical decimal only, so one checkpoint has exactly one byte encoding.
  if (!DECIMAL_RE.test(size)) bad('tree size must be a decimal without leading zeros');
  const treeSize = Number(size);
  if (!Number.isSafeInteger(treeSize)) bad('tree size exceeds 2^53-1');
  const rootHash = decodeBase64Strict(root);
  if (!rootHash || rootHash.length !== ROOT_HASH_BYTES) bad(`root hash must be canonical base64 of ${ROOT_HASH_BYTES} bytes`);
  if (extensions.some((e) => e.length === 0)) bad('extension lines must be non-empty');
  return { origin, treeSize, rootHash, extensions };
}
