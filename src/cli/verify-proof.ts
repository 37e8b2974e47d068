import { treeHasher, verifyInclusion } from '../ledger/merkle/index.js';
import { NoteError, parseCheckpoint, parseTlogProof, verifyNote } from '../ledger/note/index.js';

/**
 * Checks a tlog-proof with nothing but the log's verifier key: the checkpoint's signature,
 * then the inclusion of H(0x00 || extra) at `index` under the checkpoint's root.
 */
export function verifyTlogProofFile(text: string, verifierKey: string, origin?: string): { ok: boolean; message: string } {
  try {
    const proof = parseTlogProof(text);
    const { text: body } = verifyNote(proof.checkpoint, [verifierKey]);
    const cp = parseCheckpoint(body);
    if (origin !== undefined && cp.origin !== origin) return { ok: false, message: `checkpoint origin is ${cp.origin}, not ${origin}` };
    if (!proof.extra) return { ok: false, message: 'the proof carries no event bytes (extra line)' };
    const alg = cp.extensions.includes('hash blake3') ? 'blake3' : 'sha256';
    const leaf = treeHasher(alg).leafHash(proof.extra);
    if (!verifyInclusion(alg, proof.index, cp.treeSize, leaf, proof.hashes, cp.rootHash)) {
      return { ok: false, message: `event ${leaf.toString('hex')} is not at index ${proof.index} of the checkpointed tree` };
    }
    return { ok: true, message: `event ${leaf.toString('hex')} is entry ${proof.index} of ${cp.origin} (tree size ${cp.treeSize})` };
  } catch (e) {
    if (e instanceof NoteError) return { ok: false, message: `${e.code}: ${e.message}` };
    throw e;
  }
}
