import { ChainproofError } from '../../errors.js';
import type { LedgerRow } from '../entities/index.js';
import { didKeyFromPublicKey } from '../events/did-key.js';
import { ed25519Verify } from '../events/ed25519.js';
import { checkpointHashAlg, openNote, parseCheckpoint, parseVerifierKey, type NoteSignature, type VerifierKey } from '../note/index.js';
import { datedAhead } from './block-check.js';
import type { IssueCollector } from './issues.js';

export const VERIFY_CHECKPOINT_COLUMNS = 'id, tree_size, root_hash, block_height, timestamp_ms, note';

export interface VerifyCheckpointRow {
  id: string;
  tree_size: string;
  root_hash: Buffer;
  block_height: string;
  timestamp_ms: string;
  note: string;
}

/** What a checkpoint's signed body claims, once it parses and agrees with its row. */
export interface SignedHead {
  id: number;
  treeSize: number;
  rootHash: Buffer;
  blockHeight: number;
  blockHash: string;
  /** The signed `time` line (ms), or the row's when the line is missing or malformed. */
  timeMs: number;
}

/** The stored block a checkpoint names, as far as the checkpoint checks go. */
export interface NamedBlock {
  height: number;
  hash: Buffer;
  treeSize: number;
  timestamp: number;
}

const BLOCK_LINE = /^block (0|[1-9][0-9]*) ([0-9a-f]{64})$/;
const TIME_LINE = /^time (0|[1-9][0-9]*)$/;

/** The trusted keys, each refused up front if malformed: that is the caller's mistake, not the ledger's. */
export function parseTrustedKeys(vkeys: readonly string[]): VerifierKey[] {
  return vkeys.map((vkey) => {
    try {
      return parseVerifierKey(vkey);
    } catch (e) {
      throw new ChainproofError('BAD_USER_INPUT', (e as Error).message, { cause: e });
    }
  });
}

/** The did:keys the trusted keys sign events as: the server writes its own events under its key of the time. */
export const serverDidsOf = (keys: readonly VerifierKey[]): string[] => keys.map((k) => didKeyFromPublicKey(k.publicKey));

/**
 * c2sp.org/signed-note rules for a set of trusted keys (a log's current key and those it was
 * rotated from): signatures by other keys are ignored, one trusted key at least must have signed,
 * and every trusted key's signature must verify over the note text. Returns why not, or undefined.
 */
function signatureProblem(text: string, signatures: NoteSignature[], keys: readonly VerifierKey[]): string | undefined {
  const named = (k: VerifierKey) => `${k.name}+${k.keyHash.toString('hex')}`;
  let signed = false;
  for (const key of keys) {
    const mine = signatures.find((s) => s.name === key.name && s.keyHash.equals(key.keyHash));
    if (!mine) continue;
    if (!ed25519Verify(key.publicKey, Buffer.from(text, 'utf8'), mine.signature)) return `signature by ${named(key)} does not verify`;
    signed = true;
  }
  return signed ? undefined : `no signature by the trusted key${keys.length > 1 ? 's' : ''} ${keys.map(named).join(', ')}`;
}

/**
 * Checks a checkpoint on its own: the note parses as a C2SP signed note whose body is a
 * checkpoint of this ledger agreeing with the row (size, root, block line, time), and — with
 * a verifier key — carries a valid signature by that key. Returns the signed claims when the
 * body can be read at all, even if the signature is bad (the root is still worth comparing).
 */
export function checkCheckpointNote(
  row: VerifyCheckpointRow,
  ledger: LedgerRow,
  verifierKeys: readonly VerifierKey[],
  issues: IssueCollector,
): SignedHead | undefined {
  const id = Number(row.id);
  const malformed = (why: string) => issues.checkpoint('CHECKPOINT_MALFORMED', id, `checkpoint ${id}: ${why}`);
  let text: string;
  let signatures: NoteSignature[];
  try {
    ({ text, signatures } = openNote(row.note));
  } catch (e) {
    malformed(`note does not parse: ${(e as Error).message}`);
    return undefined;
  }
  if (verifierKeys.length > 0) {
    const problem = signatureProblem(text, signatures, verifierKeys);
    if (problem) issues.checkpoint('CHECKPOINT_SIGNATURE', id, `checkpoint ${id}: ${problem}`);
  }
  let body;
  try {
    body = parseCheckpoint(text);
  } catch (e) {
    malformed((e as Error).message);
    return undefined;
  }
  const problems: string[] = [];
  if (body.origin !== ledger.origin) problems.push(`origin is ${JSON.stringify(body.origin)}, not ${JSON.stringify(ledger.origin)}`);
  if (String(body.treeSize) !== row.tree_size) problems.push(`note says tree size ${body.treeSize}, the row ${row.tree_size}`);
  if (!body.rootHash.equals(row.root_hash)) {
    problems.push(`note says root ${body.rootHash.toString('hex')}, the row ${row.root_hash.toString('hex')}`);
  }
  const blockLines = body.extensions.filter((l) => l.startsWith('block '));
  const block = blockLines.length === 1 ? BLOCK_LINE.exec(blockLines[0]!) : null;
  if (!block) problems.push(`needs exactly one "block <height> <hash>" line`);
  else if (block[1] !== row.block_height) problems.push(`note names block ${block[1]}, the row ${row.block_height}`);
  const timeLines = body.extensions.filter((l) => l.startsWith('time '));
  const time = timeLines.length === 1 ? TIME_LINE.exec(timeLines[0]!) : null;
  if (!time) problems.push(`needs exactly one "time <ms>" line`);
  else if (time[1] !== row.timestamp_ms) problems.push(`note says time ${time[1]}, the row ${row.timestamp_ms}`);
  const named = checkpointHashAlg(body.extensions) ?? 'more than one';
  if (named !== ledger.hashAlg) problems.push(`note names hash ${named}, the ledger uses ${ledger.hashAlg}`);
  if (problems.length > 0) malformed(problems.join('; '));
  return {
    id,
    treeSize: body.treeSize,
    rootHash: body.rootHash,
    blockHeight: block ? Number(block[1]) : Number(row.block_height),
    blockHash: block ? block[2]! : '',
    timeMs: Number(time ? time[1] : row.timestamp_ms),
  };
}

/**
 * The block a checkpoint names must be the stored block ending at its tree size, and not dated
 * after the checkpoint was signed (by more than the clocks' allowance): a checkpoint is made
 * once its block is sealed.
 */
export function checkCheckpointBlock(head: SignedHead, block: NamedBlock | undefined, issues: IssueCollector): void {
  const id = head.id;
  if (!block) {
    issues.checkpoint('CHECKPOINT_MALFORMED', id, `checkpoint ${id}: no stored block ends at its tree size ${head.treeSize}`);
  } else if (block.height !== head.blockHeight || block.hash.toString('hex') !== head.blockHash || block.treeSize !== head.treeSize) {
    issues.checkpoint(
      'CHECKPOINT_MALFORMED',
      id,
      `checkpoint ${id} names block ${head.blockHeight} ${head.blockHash} at size ${head.treeSize}, but the stored block there is ${block.height} ${block.hash.toString('hex')} ending at ${block.treeSize}`,
    );
  } else {
    datedAhead(block, head.timeMs, `the time checkpoint ${id} that names it was signed`, issues);
  }
}
