import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './transformers.js';

@Entity('checkpoints')
export class CheckpointRow {
  // bigserial: numbered by the database on insert.
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber }) id!: number;
  @Column({ type: 'integer', name: 'ledger_id' }) ledgerId!: number;
  @Column({ type: 'bigint', name: 'tree_size', transformer: bigintNumber }) treeSize!: number;
  @Column({ type: 'bytea', name: 'root_hash' }) rootHash!: Buffer;
  @Column({ type: 'bigint', name: 'block_height', transformer: bigintNumber }) blockHeight!: number;
  @Column({ type: 'bigint', name: 'timestamp_ms', transformer: bigintNumber }) timestampMs!: number;
  @Column({ type: 'text', nullable: true }) name!: string | null;
  @Column({ type: 'text', array: true }) tags!: string[];
  /** The whole C2SP signed note, exactly as signed. */
  @Column({ type: 'text' }) note!: string;
  @Column({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
}
