import { isHashAlg, treeHasher, verifyInclusion } from '../ledger/merkle/index.js';
import { checkpointHashAlg, NoteError, openNote, parseCheckpoint, parseCosignerKey, parseTlogProof, verifyCosignature, verifyNote } from '../ledger/note/index.js';
import type { ProofBundle } from './source.js';
import { quorumOf } from '../witness/cosignatures.js';

/** Whose cosignatures a checkpoint must carry, and how many of them: by default ⌈(n+f+1)/2⌉ of n (2f+1 of 3f+1). */
export interface WitnessPolicy {
  keys: string[];
  threshold?: number;
}

/**
 * How many of the policy's witnesses cosigned the checkpoint `note` (its signature lines are
 * attacker-controlled), and how many it needs: each public key counts once, however many names
 * it is listed under, in what is had and in the quorum of n needed by default.
 */
export function tallyCosignatures(note: string, body: string, policy: WitnessPolicy): { have: number; need: number; witnesses: number } {
  const keys = [...new Map(policy.keys.map(parseCosignerKey).map((k) => [k.publicKey.toString('hex'), k])).values()];
  const lines = note.slice(openNote(note).text.length + 1).split('\n').filter(Boolean);
  const have = keys.filter((key) => lines.some((l) => verifyCosignature(body, l, key))).length;
  return { have, need: policy.threshold ?? quorumOf(keys.length), witnesses: keys.length };
}

/**
 * Checks a tlog-proof with nothing but the log's verifier key: the checkpoint's signature,
 * then the inclusion of H(0x00 || extra) at `index` under the checkpoint's root.
 */
export function verifyTlogProofFile(text: string, verifierKey: string, origin?: string, witnesses?: WitnessPolicy): { ok: boolean; message: string } {
  try {
    const proof = parseTlogProof(text);
    const { text: body } = verifyNote(proof.checkpoint, [verifierKey]);
    const cp = parseCheckpoint(body);
    let cosigned = '';
    if (witnesses && witnesses.keys.length > 0) {
      const { have, need, witnesses: n } = tallyCosignatures(proof.checkpoint, body, witnesses);
      if (have < need) return { ok: false, message: `the checkpoint carries ${have} valid cosignatures of the ${n} witnesses; the policy needs ${need}` };
      cosigned = `, cosigned by ${have} of ${n} witnesses`;
    }
    if (origin !== undefined && cp.origin !== origin) return { ok: false, message: `checkpoint origin is ${cp.origin}, not ${origin}` };
    if (!proof.extra) return { ok: false, message: 'the proof carries no event bytes (extra line)' };
    const alg = checkpointHashAlg(cp.extensions);
    if (alg === null) return { ok: false, message: 'the checkpoint names its tree hash more than once' };
    if (!isHashAlg(alg)) return { ok: false, message: `the checkpoint names tree hash ${alg}, which this verifier does not know` };
    const leaf = treeHasher(alg).leafHash(proof.extra);
    if (!verifyInclusion(alg, proof.index, cp.treeSize, leaf, proof.hashes, cp.rootHash)) {
      return { ok: false, message: `event ${leaf.toString('hex')} is not at index ${proof.index} of the checkpointed tree` };
    }
    return { ok: true, message: `event ${leaf.toString('hex')} is entry ${proof.index} of ${cp.origin} (tree size ${cp.treeSize}${cosigned})` };
  } catch (e) {
    if (e instanceof NoteError) return { ok: false, message: `${e.code}: ${e.message}` };
    throw e;
  }
}

/**
 * Why a proof as a ledger source gave it does not prove `eventId` (its bytes hash to another id,
 * or the path does not lead to its checkpoint's root), or undefined when it does. The checkpoint's
 * signature is left to verify-proof, which has the log's key; this catches a source that answered
 * something other than a proof before it is written out as one.
 */
export function proofFault(b: ProofBundle, eventId: string): string | undefined {
  let cp;
  try {
    cp = parseCheckpoint(openNote(b.note).text);
  } catch (e) {
    if (e instanceof NoteError) return `its checkpoint does not parse (${e.code})`;
    throw e;
  }
  const alg = checkpointHashAlg(cp.extensions);
  if (alg === null || !isHashAlg(alg)) return 'its checkpoint names no hash this CLI knows';
  const leaf = treeHasher(alg).leafHash(Buffer.from(b.canonical, 'base64'));
  if (leaf.toString('hex') !== eventId) return 'its event bytes are another event\'s';
  const hashes = b.hashes.map((h) => Buffer.from(h, 'hex'));
  if (!verifyInclusion(alg, b.index, cp.treeSize, leaf, hashes, cp.rootHash)) return `it does not lead from entry ${b.index} to the root of its checkpoint of size ${cp.treeSize}`;
  return undefined;
}
