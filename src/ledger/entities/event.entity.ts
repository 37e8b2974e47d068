import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from './transformers.js';

/**
 * An appended event. `canonical` holds the exact bytes that were hashed and signed; the
 * other columns are an index over them, and verification checks they agree.
 */
@Entity('events')
export class EventRow {
  @PrimaryColumn({ type: 'integer', name: 'ledger_id' }) ledgerId!: number;
  @PrimaryColumn({ type: 'bigint', transformer: bigintNumber }) idx!: number;
  @Column({ type: 'bytea' }) id!: Buffer;
  @Column({ type: 'bytea' }) canonical!: Buffer;
  @Column({ type: 'bytea', nullable: true }) signature!: Buffer | null;
  @Column({ type: 'text' }) type!: string;
  @Column({ type: 'text' }) actor!: string;
  @Column({ type: 'text', nullable: true }) author!: string | null;
  @Column({ type: 'text', nullable: true }) resource!: string | null;
  @Column({ type: 'text', nullable: true }) subsystem!: string | null;
  @Column({ type: 'text', nullable: true }) result!: string | null;
  @Column({ type: 'text', name: 'correlation_id', nullable: true }) correlationId!: string | null;
  @Column({ type: 'bytea' }) parents!: Buffer;
  @Column({ type: 'bigint', name: 'hlc_ms', transformer: bigintNumber }) hlcMs!: number;
  @Column({ type: 'integer', name: 'hlc_logical' }) hlcLogical!: number;
  @Column({ type: 'text', name: 'idempotency_key', nullable: true }) idempotencyKey!: string | null;
  @Column({ type: 'timestamptz', name: 'appended_at' }) appendedAt!: Date;
}
