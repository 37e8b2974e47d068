import type { DataSource } from 'typeorm';
import { ChainproofError } from '../errors.js';
import { CheckpointRow } from '../ledger/entities/index.js';

/** A past state of a ledger: give exactly one. */
export interface AsOf {
  treeSize?: number | null;
  blockHeight?: number | null;
  /** ms since the epoch */
  timeMs?: number | null;
}

/**
 * The number of leaves the ledger had at `asOf`: every projection row with `event_idx` below
 * it existed then, and nothing else did. No `asOf` means "now" (no bound); an empty one is refused.
 */
export async function leafBound(db: DataSource, ledgerId: number, treeSize: number, asOf: AsOf | undefined): Promise<number | undefined> {
  if (!asOf) return undefined;
  const given = (['treeSize', 'blockHeight', 'timeMs'] as const).filter((k) => asOf[k] !== undefined && asOf[k] !== null);
  if (given.length !== 1) throw new ChainproofError('BAD_USER_INPUT', 'asOf takes exactly one of treeSize, blockHeight or time');
  if (asOf.treeSize !== undefined && asOf.treeSize !== null) {
    if (!Number.isSafeInteger(asOf.treeSize) || asOf.treeSize < 0 || asOf.treeSize > treeSize) {
      throw new ChainproofError('BAD_USER_INPUT', `asOf.treeSize must be in 0..${treeSize}`);
    }
    return asOf.treeSize;
  }
  if (asOf.blockHeight !== undefined && asOf.blockHeight !== null) {
    if (!Number.isSafeInteger(asOf.blockHeight) || asOf.blockHeight < 0) {
      throw new ChainproofError('BAD_USER_INPUT', 'asOf.blockHeight must be a block height: an integer from 0');
    }
    const [b] = await db.query(`SELECT tree_size FROM blocks WHERE ledger_id = $1 AND height = $2`, [ledgerId, asOf.blockHeight]);
    if (!b) throw new ChainproofError('NOT_FOUND', `no block at height ${asOf.blockHeight}`);
    return Number(b.tree_size);
  }
  const time = asOf.timeMs!;
  if (!Number.isSafeInteger(time)) throw new ChainproofError('BAD_USER_INPUT', 'asOf.time must be a valid time');
  return leavesAtTime(db, ledgerId, treeSize, time);
}

/**
 * How many leaves were appended at or before `timeMs`, by binary search over leaf order in
 * one round trip (about log2(n) primary-key look-ups, instead of scanning by time). It searches
 * the time each leaf was appended (the server's clock, which does not go back along one
 * process's leaves: exact up to the clock differences of processes sharing the database), not
 * its hlc: a client's may lag the ledger's clock by the skew allowed, a synced copy's by
 * however old it is, and either steered the search past leaves appended later.
 */
async function leavesAtTime(db: DataSource, ledgerId: number, treeSize: number, timeMs: number): Promise<number> {
  const [r] = await db.query(
    `WITH RECURSIVE s(lo, hi) AS (
       SELECT 0::bigint, $3::bigint
       UNION ALL
       SELECT CASE WHEN e.appended_at <= $2 THEN m.mid + 1 ELSE s.lo END, CASE WHEN e.appended_at <= $2 THEN s.hi ELSE m.mid END
         FROM s CROSS JOIN LATERAL (SELECT (s.lo + s.hi) / 2 AS mid) m
         JOIN events e ON e.ledger_id = $1 AND e.idx = m.mid
        WHERE s.lo < s.hi
     )
     SELECT min(hi) AS n FROM s`,
    [ledgerId, new Date(timeMs), treeSize],
  );
  return Number(r.n);
}

/**
 * What a read sees of a ledger: its first `leaves` leaves and, for `asOf.time`, nothing signed
 * or mined after `atMs` either (a checkpoint or block made later over those same leaves did not
 * exist then).
 */
export interface ReadBound {
  leaves: number;
  atMs?: number;
}

/** The newest checkpoint within `bound`, as the read would have found it then. */
export function checkpointWithin(db: DataSource, ledgerId: number, bound: ReadBound): Promise<CheckpointRow | null> {
  const q = db
    .getRepository(CheckpointRow)
    .createQueryBuilder('c')
    .where('c.ledger_id = :ledgerId AND c.tree_size <= :leaves', { ledgerId, leaves: bound.leaves });
  if (bound.atMs !== undefined) q.andWhere('c.timestamp_ms <= :atMs', { atMs: bound.atMs });
  return q.orderBy('c.tree_size', 'DESC').addOrderBy('c.id', 'DESC').limit(1).getOne();
}
