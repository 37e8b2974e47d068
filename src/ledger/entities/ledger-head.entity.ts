import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './transformers.js';

/**
 * The one mutable row per ledger: the sequencer locks it (`FOR UPDATE`) to keep a single
 * gap-free sequence across server processes, and keeps the tree's right edge here so an
 * append never rereads the log.
 */
@Entity('ledger_heads')
export class LedgerHeadRow {
  @PrimaryColumn({ type: 'integer', name: 'ledger_id' }) ledgerId!: number;
  @Column({ type: 'bigint', name: 'tree_size', transformer: bigintNumber }) treeSize!: number;
  /** Hashes of the maximal full subtrees, largest first (see merkle/frontier.ts). */
  @Column({ type: 'bytea' }) frontier!: Buffer;
  @Column({ type: 'bytea', name: 'root_hash' }) rootHash!: Buffer;
  @Column({ type: 'bigint', name: 'last_hlc_ms', transformer: bigintNumber }) lastHlcMs!: number;
  @Column({ type: 'integer', name: 'last_hlc_logical' }) lastHlcLogical!: number;
  /** Concatenated 32-byte ids of events nobody names as a parent yet. */
  @Column({ type: 'bytea' }) tips!: Buffer;
}
