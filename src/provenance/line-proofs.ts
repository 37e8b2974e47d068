import type { DataSource } from 'typeorm';
import type { CheckpointRow } from '../ledger/entities/index.js';
import type { InclusionProofResult, LedgerService } from '../ledger/ledger-service.js';
import { inclusionProof, treeHasher, type NodeReader } from '../ledger/merkle/index.js';
import { batchingReader, storedTree } from '../ledger/tree-store.js';
import { checkpointWithin, type ReadBound } from './as-of.js';

/**
 * Inclusion proofs for many records of one read (a trace's lines) against the latest
 * checkpoint: the checkpoint is looked up once, its signed root stands for the tree, and
 * the nodes every proof needs are fetched in one statement per round rather than one per line.
 * A record the checkpoint does not cover yet gets the ledger's ordinary proof (current tree).
 * A read with an `asOf` proves against the newest checkpoint within its bound, else against
 * the tree as it was then (`bound.leaves`), with no checkpoint.
 */
export class LineProofs {
  private checkpoint: Promise<CheckpointRow | null> | undefined;
  private reader: NodeReader | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly ledgerName: string,
    private readonly bound?: ReadBound,
  ) {}

  async proof(index: number): Promise<InclusionProofResult> {
    const ledger = await this.ledger.ledger(this.ledgerName);
    this.checkpoint ??= this.bound ? checkpointWithin(this.dataSource, ledger.id, this.bound) : this.ledger.checkpoint(this.ledgerName);
    const cp = await this.checkpoint;
    if (!cp || cp.treeSize <= index) {
      if (!this.bound) return this.ledger.inclusionProof(this.ledgerName, { index });
      // Any checkpoint of exactly that size was made after `atMs` (checkpointWithin would have found it).
      return { ...(await this.ledger.inclusionProof(this.ledgerName, { index }, this.bound.leaves)), checkpoint: null };
    }
    this.reader ??= batchingReader(storedTree(this.dataSource, ledger.id));
    const [hashes, [leaf]] = await Promise.all([
      inclusionProof(this.reader, treeHasher(ledger.hashAlg), index, cp.treeSize),
      this.reader.getNodes([{ level: 0, index }]),
    ]);
    return {
      leafIndex: index,
      treeSize: cp.treeSize,
      leafHash: leaf!.toString('hex'),
      hashes: hashes.map((h) => h.toString('hex')),
      rootHash: cp.rootHash.toString('hex'),
      checkpoint: cp,
    };
  }
}
