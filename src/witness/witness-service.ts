import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { verifyConsistency } from '../ledger/merkle/verify.js';
import { isHashAlg } from '../ledger/merkle/hasher.js';
import { checkpointHashAlg, parseCheckpoint, parseVerifierKey, verifyNote, type Cosigner, type VerifierKey } from '../ledger/note/index.js';
import { parseAddCheckpoint, textResponse, type WitnessResponse } from './add-checkpoint.js';

/**
 * This node as a C2SP tlog-witness for the logs it trusts: it cosigns a checkpoint only when it
 * is consistent with the last one it cosigned for that origin, and the check and the update of
 * that record happen in one transaction under a row lock.
 *
 * Which logs: each trusted verifier key covers the origins `<key name>/…` — a Chainproof node
 * signs the checkpoints of its ledgers `<CHAINPROOF_ORIGIN>/<ledger>` with the key named
 * `<CHAINPROOF_ORIGIN>` — and the origin equal to its name. The configuration refuses keys named
 * N and N/…, so every origin belongs to one log.
 */
export class WitnessService {
  private readonly logs: VerifierKey[];
  private readonly vkeys: string[];

  constructor(
    private readonly dataSource: DataSource,
    readonly cosigner: Cosigner,
    trustedLogKeys: string[],
    private readonly log: Logger,
  ) {
    this.vkeys = trustedLogKeys;
    this.logs = trustedLogKeys.map(parseVerifierKey);
  }

  private keysFor(origin: string): string[] {
    return this.vkeys.filter((_, i) => origin === this.logs[i]!.name || origin.startsWith(`${this.logs[i]!.name}/`));
  }

  /** POST /witness/add-checkpoint (`body` is attacker-controlled). */
  async addCheckpoint(body: string, nowS = Math.floor(Date.now() / 1000)): Promise<WitnessResponse> {
    const req = parseAddCheckpoint(body);
    if ('status' in req) return req;
    let text: string;
    let checkpoint;
    try {
      const split = req.note.lastIndexOf('\n\n');
      checkpoint = parseCheckpoint(split < 0 ? req.note : req.note.slice(0, split + 1));
    } catch (e) {
      return textResponse(400, `${(e as Error).message}\n`);
    }
    const keys = this.keysFor(checkpoint.origin);
    if (keys.length === 0) return textResponse(404, `unknown log origin ${checkpoint.origin}\n`);
    try {
      text = verifyNote(req.note, keys).text;
    } catch {
      return textResponse(403, 'no valid signature from a key trusted for this origin\n');
    }
    if (req.oldSize > checkpoint.treeSize) return textResponse(400, 'old size exceeds the checkpoint size\n');
    // Proofs are checked with the tree hash the checkpoint names (a BLAKE3 ledger names it), never assumed.
    const alg = checkpointHashAlg(checkpoint.extensions);
    if (alg === null || !isHashAlg(alg)) return textResponse(400, `unsupported tree hash ${alg ?? '(named more than once)'}\n`);

    return this.dataSource.transaction(async (tx) => {
      await tx.query(`INSERT INTO witness_state (origin, tree_size, root_hash) VALUES ($1, 0, '\\x'::bytea) ON CONFLICT (origin) DO NOTHING`, [checkpoint.origin]);
      const [state] = await tx.query(`SELECT tree_size, root_hash, hash_alg FROM witness_state WHERE origin = $1 FOR UPDATE`, [checkpoint.origin]);
      const lastSize = Number(state.tree_size);
      const lastRoot: Buffer = state.root_hash;
      if (req.oldSize !== lastSize) return { status: 409, contentType: 'text/x.tlog.size', body: `${lastSize}\n` };
      // Kept once per origin and reason. Anyone may replay a genuine signed checkpoint with a
      // garbage proof, and a bad proof looks just like a fork; the log's signed checkpoints, and so
      // the reasons, are few, but the requests that repeat them are not.
      const evidence = async (reason: string) => {
        const kept = await tx.query(
          `INSERT INTO witness_evidence (origin, reason, request)
           SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM witness_evidence WHERE origin = $1 AND reason = $2) RETURNING id`,
          [checkpoint.origin, reason, body],
        );
        if (kept.length > 0) this.log.warn({ origin: checkpoint.origin, reason }, 'witness refused a signed checkpoint: possible log misbehaviour');
      };
      // The empty root is the placeholder of an origin never cosigned: its first checkpoint may be
      // of size 0, and then there is no earlier root to compare.
      const cosignedBefore = lastRoot.length > 0;
      if (state.hash_alg !== null && state.hash_alg !== alg) {
        await evidence(`tree hash changed from ${state.hash_alg} to ${alg}`);
        return textResponse(422, `this log was cosigned with tree hash ${state.hash_alg}, and a log's tree hash never changes\n`);
      }
      if (req.oldSize === checkpoint.treeSize) {
        if (cosignedBefore && !lastRoot.equals(checkpoint.rootHash)) {
          await evidence(`a second root for tree size ${lastSize}`);
          return textResponse(409, 'this tree size was cosigned with a different root\n');
        }
      } else if (req.oldSize === 0 ? req.proof.length !== 0 : !verifyConsistency(alg, req.oldSize, checkpoint.treeSize, lastRoot, checkpoint.rootHash, req.proof)) {
        await evidence(`no valid consistency proof from ${req.oldSize} to ${checkpoint.treeSize}`);
        return textResponse(422, 'the consistency proof does not verify\n');
      }
      await tx.query(`UPDATE witness_state SET tree_size = $2, root_hash = $3, hash_alg = $4, cosigned_at = now() WHERE origin = $1`, [
        checkpoint.origin,
        checkpoint.treeSize,
        checkpoint.rootHash,
        alg,
      ]);
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: this.cosigner.cosign(text, nowS) };
    });
  }
}
