import type { DataSource, EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { PeerSpec } from './peer.js';

export type PeerStatus = 'connected' | 'syncing' | 'disconnected' | 'error';

/** A row of `sync_peers`: a peer and how far this node has taken its log. */
export interface PeerRow extends PeerSpec {
  source: 'config' | 'admin';
  /** Counts the changes of the pinned key: a pull writes only while the pin it started under is current. */
  pin: number;
  position: number;
  checkpointSize: number | null;
  checkpointRoot: Buffer | null;
  checkpointNote: string | null;
  status: PeerStatus;
  lastSyncAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  errorCount: number;
  eventsReceived: number;
  eventsSent: number;
  latencyMs: number | null;
  flaggedReason: string | null;
}

const COLUMNS = `url, verifier_key, origin, source, pin, position, checkpoint_size, checkpoint_root, checkpoint_note, status, last_sync_at,
  last_success_at, last_error, error_count, events_received, events_sent, latency_ms, flagged_reason`;

const toPeer = (r: any): PeerRow => ({
  url: r.url,
  verifierKey: r.verifier_key,
  origin: r.origin,
  source: r.source,
  pin: r.pin,
  position: Number(r.position),
  checkpointSize: r.checkpoint_size === null ? null : Number(r.checkpoint_size),
  checkpointRoot: r.checkpoint_root,
  checkpointNote: r.checkpoint_note,
  status: r.status,
  lastSyncAt: r.last_sync_at,
  lastSuccessAt: r.last_success_at,
  lastError: r.last_error,
  errorCount: r.error_count,
  eventsReceived: Number(r.events_received),
  eventsSent: Number(r.events_sent),
  latencyMs: r.latency_ms,
  flaggedReason: r.flagged_reason,
});

/** Durable sync state. Every write is one statement, so a crash between two leaves each whole. */
export class SyncStore {
  constructor(private readonly dataSource: DataSource) {}

  async peers(): Promise<PeerRow[]> {
    return (await this.dataSource.query(`SELECT ${COLUMNS} FROM sync_peers ORDER BY created_at, url`)).map(toPeer);
  }

  async peer(url: string): Promise<PeerRow | null> {
    const [r] = await this.dataSource.query(`SELECT ${COLUMNS} FROM sync_peers WHERE url = $1`, [url]);
    return r ? toPeer(r) : null;
  }

  /**
   * Configured peers are (re)written at start; a changed key for a known URL starts that peer
   * afresh (and lifts a flag), since what was checked against the old key says nothing about the new one.
   * The change is never refused or held back for a pull that runs meanwhile (in another process sharing
   * the database, say): it comes with a node's start, which must not wait on or fail for a peer. The
   * change wins instead: it moves `pin` on, every write of a pull (advance, sawCheckpoint, flag) holds
   * only while the pin it started under is current, so a pull that began before stops having written
   * nothing more — also after a change back to its key — and the next one checks the peer's log from 0.
   */
  async upsertConfigured(p: PeerSpec): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO sync_peers (url, verifier_key, origin, source) VALUES ($1, $2, $3, 'config')
       ON CONFLICT (url) DO UPDATE SET verifier_key = $2, origin = $3, source = 'config',
         pin = CASE WHEN sync_peers.verifier_key = $2 THEN sync_peers.pin ELSE sync_peers.pin + 1 END,
         checkpoint_size = CASE WHEN sync_peers.verifier_key = $2 THEN sync_peers.checkpoint_size END,
         checkpoint_root = CASE WHEN sync_peers.verifier_key = $2 THEN sync_peers.checkpoint_root END,
         checkpoint_note = CASE WHEN sync_peers.verifier_key = $2 THEN sync_peers.checkpoint_note END,
         position = CASE WHEN sync_peers.verifier_key = $2 THEN sync_peers.position ELSE 0 END,
         flagged_reason = CASE WHEN sync_peers.verifier_key = $2 THEN sync_peers.flagged_reason END`,
      [p.url, p.verifierKey, p.origin],
    );
  }

  async create(p: PeerSpec): Promise<PeerRow> {
    const rows = await this.dataSource.query(
      `INSERT INTO sync_peers (url, verifier_key, origin, source) VALUES ($1, $2, $3, 'admin')
       ON CONFLICT (url) DO NOTHING RETURNING ${COLUMNS}`,
      [p.url, p.verifierKey, p.origin],
    );
    if (rows.length === 0) throw new ChainproofError('CONFLICT', `peer ${p.url} is already configured`);
    return toPeer(rows[0]);
  }

  /**
   * Remembers a checkpoint checked against the pinned key and consistent with the one `checkedAgainst`
   * holds, only where that one is still stored (or this very one is). False when another pull stored
   * another meanwhile, or the peer was re-pinned: the new checkpoint says nothing about that one.
   */
  async sawCheckpoint(checkedAgainst: PeerRow, size: number, root: Buffer, note: string, latencyMs: number): Promise<boolean> {
    const [{ stored }] = await this.dataSource.query(
      `WITH u AS (
         UPDATE sync_peers SET checkpoint_size = $2, checkpoint_root = $3, checkpoint_note = $4, latency_ms = $5
          WHERE url = $1 AND pin = $6
            AND ((checkpoint_size IS NOT DISTINCT FROM $7 AND checkpoint_root IS NOT DISTINCT FROM $8)
              OR (checkpoint_size = $2 AND checkpoint_root = $3))
          RETURNING 1)
       SELECT count(*)::int AS stored FROM u`,
      [checkedAgainst.url, size, root, note, latencyMs, checkedAgainst.pin, checkedAgainst.checkpointSize, checkedAgainst.checkpointRoot],
    );
    return stored > 0;
  }

  /**
   * Moves the peer's position on; inside the append's transaction when events were appended. Only
   * while the pin the pull checked its leaves under (`pulled`) is current: a re-pin (upsertConfigured)
   * resets the position so every leaf is checked again under the new key, and a pull that began before
   * it must not move that position on. False when it did not: the caller stops, and rolls back what it
   * appended in the same transaction.
   */
  async advance(pulled: Pick<PeerRow, 'url' | 'pin'>, position: number, received: number, tx?: EntityManager): Promise<boolean> {
    const [{ moved }] = await (tx ?? this.dataSource).query(
      `WITH u AS (
         UPDATE sync_peers SET position = GREATEST(position, $2), events_received = events_received + $3
          WHERE url = $1 AND pin = $4
          RETURNING 1)
       SELECT count(*)::int AS moved FROM u`,
      [pulled.url, position, received, pulled.pin],
    );
    return moved > 0;
  }

  /**
   * A sync's outcome, written only while the pin it ran under is current (when it got as far as
   * reading the peer): one that lost a re-pin race is not the new pin's success or failure.
   */
  async succeeded(synced: Pick<PeerRow, 'url' | 'pin'>): Promise<void> {
    await this.dataSource.query(
      `UPDATE sync_peers SET status = 'connected', last_sync_at = now(), last_success_at = now(), last_error = NULL WHERE url = $1 AND pin = $2`,
      [synced.url, synced.pin],
    );
  }

  /** See succeeded; `pin` is unknown when the peer's row could not be read at all. */
  async failed(synced: Pick<PeerRow, 'url'> & { pin?: number }, status: PeerStatus, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE sync_peers SET status = $2, last_error = $3, error_count = error_count + 1, last_sync_at = now()
        WHERE url = $1 AND ($4::int IS NULL OR pin = $4)`,
      [synced.url, status, error.slice(0, 2000), synced.pin ?? null],
    );
  }

  /**
   * Flags a peer that contradicted a checkpoint signed by the key it was checked against, only while
   * the pin it was checked under is current: a re-pin lifts the flag, and a pull from before it must
   * not set it again. False when the peer was re-pinned since (nothing written).
   */
  async flag(checked: Pick<PeerRow, 'url' | 'pin'>, error: string, reason: string): Promise<boolean> {
    const [{ flagged }] = await this.dataSource.query(
      `WITH u AS (
         UPDATE sync_peers SET status = 'error', last_error = $2, error_count = error_count + 1, last_sync_at = now(),
           flagged_reason = COALESCE(flagged_reason, $3)
          WHERE url = $1 AND pin = $4
          RETURNING 1)
       SELECT count(*)::int AS flagged FROM u`,
      [checked.url, error.slice(0, 2000), reason, checked.pin],
    );
    return flagged > 0;
  }

  /** Counts events served to a peer that named itself (its origin) when pulling. */
  async sent(origin: string, n: number): Promise<void> {
    await this.dataSource.query(`UPDATE sync_peers SET events_sent = events_sent + $2 WHERE origin = $1`, [origin, n]);
  }
}
