import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './transformers.js';

/** A mined block: events [startIndex, treeSize) of its ledger. */
@Entity('blocks')
export class BlockRow {
  @PrimaryColumn({ type: 'integer', name: 'ledger_id' }) ledgerId!: number;
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber }) height!: number;
  @Column({ type: 'bytea' }) hash!: Buffer;
  @Column({ type: 'bytea', name: 'previous_hash' }) previousHash!: Buffer;
  @Column({ type: 'bytea', name: 'events_root' }) eventsRoot!: Buffer;
  @Column({ type: 'bigint', name: 'start_index', transformer: bigintNumber }) startIndex!: number;
  @Column({ type: 'bigint', name: 'tree_size', transformer: bigintNumber }) treeSize!: number;
  @Column({ type: 'bytea', name: 'tree_root' }) treeRoot!: Buffer;
  @Column({ type: 'bigint', name: 'timestamp_ms', transformer: bigintNumber }) timestampMs!: number;
  @Column({ type: 'smallint' }) difficulty!: number;
  @Column({ type: 'bigint', transformer: bigintNumber }) nonce!: number;
  @Column({ type: 'integer', name: 'mining_ms' }) miningMs!: number;
  @Column({ type: 'timestamptz', name: 'mined_at' }) minedAt!: Date;
  /** The retarget settings the block was mined under (null: mined before they were kept; the ledger's apply). */
  @Column({ type: 'smallint', name: 'min_difficulty', nullable: true }) minDifficulty!: number | null;
  @Column({ type: 'smallint', name: 'max_difficulty', nullable: true }) maxDifficulty!: number | null;
  @Column({ type: 'integer', name: 'target_block_ms', nullable: true }) targetBlockMs!: number | null;
  @Column({ type: 'integer', name: 'retarget_blocks', nullable: true }) retargetBlocks!: number | null;
}
