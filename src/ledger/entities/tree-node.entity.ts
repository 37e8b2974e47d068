import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './transformers.js';

/** A full subtree hash at `level` ≥ 1; level 0 (the leaves) are the events' ids. */
@Entity('tree_nodes')
export class TreeNodeRow {
  @PrimaryColumn({ type: 'integer', name: 'ledger_id' }) ledgerId!: number;
  @PrimaryColumn({ type: 'smallint' }) level!: number;
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber }) idx!: number;
  @Column({ type: 'bytea' }) hash!: Buffer;
}
