import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { HashAlg } from '../merkle/index.js';

@Entity('ledgers')
export class LedgerRow {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'text', unique: true }) name!: string;
  @Column({ type: 'text', unique: true }) origin!: string;
  @Column({ type: 'text', name: 'hash_alg' }) hashAlg!: HashAlg;
  @Column({ type: 'integer', name: 'block_size' }) blockSize!: number;
  @Column({ type: 'integer', name: 'max_block_interval_ms' }) maxBlockIntervalMs!: number;
  @Column({ type: 'smallint', name: 'min_difficulty' }) minDifficulty!: number;
  @Column({ type: 'smallint', name: 'max_difficulty' }) maxDifficulty!: number;
  @Column({ type: 'smallint', name: 'initial_difficulty' }) initialDifficulty!: number;
  @Column({ type: 'integer', name: 'target_block_ms' }) targetBlockMs!: number;
  @Column({ type: 'integer', name: 'retarget_blocks' }) retargetBlocks!: number;
  @Column({ type: 'integer', name: 'checkpoint_interval' }) checkpointInterval!: number;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
}
