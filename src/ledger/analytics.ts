import type { DataSource } from 'typeorm';
import type { LedgerRow } from './entities/index.js';

/** Results that count as failures in `failureSummary`, compared case-insensitively. */
export const FAILURE_RESULTS = ['failure', 'failed', 'fail', 'error', 'denied', 'rejected', 'timeout', 'aborted'];

export interface CountBy {
  key: string;
  count: number;
  lastAt: Date;
}

export interface FailureGroup {
  type: string;
  subsystem: string | null;
  result: string;
  count: number;
  lastAt: Date;
  lastEventId: string;
}

export interface SubsystemGap {
  subsystem: string;
  lastAt: Date;
  quietForMs: number;
  events: number;
}

const MAX_GROUPS = 500;

/** The questions audit-log users ask of a ledger, answered by SQL over the indexed columns. */
export class LedgerAnalytics {
  constructor(private readonly dataSource: DataSource) {}

  /** Events since `sinceMs`, counted by actor, by type and by subsystem. */
  async activity(ledger: LedgerRow, sinceMs: number): Promise<{ total: number; byActor: CountBy[]; byType: CountBy[]; bySubsystem: CountBy[] }> {
    const by = async (column: 'actor' | 'type' | 'subsystem'): Promise<CountBy[]> => {
      const rows: Array<{ key: string; n: string; last: string }> = await this.dataSource.query(
        `SELECT ${column} AS key, count(*) AS n, max(hlc_ms) AS last FROM events
          WHERE ledger_id = $1 AND hlc_ms >= $2 AND ${column} IS NOT NULL
          GROUP BY ${column} ORDER BY n DESC, key LIMIT ${MAX_GROUPS}`,
        [ledger.id, sinceMs],
      );
      return rows.map((r) => ({ key: r.key, count: Number(r.n), lastAt: new Date(Number(r.last)) }));
    };
    const [[total], byActor, byType, bySubsystem] = await Promise.all([
      this.dataSource.query(`SELECT count(*) AS n FROM events WHERE ledger_id = $1 AND hlc_ms >= $2`, [ledger.id, sinceMs]),
      by('actor'),
      by('type'),
      by('subsystem'),
    ]);
    return { total: Number(total.n), byActor, byType, bySubsystem };
  }

  /** Failed events since `sinceMs`, grouped by type, subsystem and result, most frequent first. */
  async failures(ledger: LedgerRow, sinceMs: number): Promise<FailureGroup[]> {
    const rows: Array<Record<string, any>> = await this.dataSource.query(
      `SELECT type, subsystem, result, count(*) AS n, max(hlc_ms) AS last, (array_agg(id ORDER BY idx DESC))[1] AS last_id
         FROM events
        WHERE ledger_id = $1 AND hlc_ms >= $2 AND lower(result) = ANY($3::text[])
        GROUP BY type, subsystem, result ORDER BY n DESC, type LIMIT ${MAX_GROUPS}`,
      [ledger.id, sinceMs, FAILURE_RESULTS],
    );
    return rows.map((r) => ({
      type: r.type,
      subsystem: r.subsystem,
      result: r.result,
      count: Number(r.n),
      lastAt: new Date(Number(r.last)),
      lastEventId: (r.last_id as Buffer).toString('hex'),
    }));
  }

  /** Subsystems that wrote before but nothing for at least `quietForMs`: a silent component. */
  async subsystemGaps(ledger: LedgerRow, quietForMs: number, nowMs = Date.now()): Promise<SubsystemGap[]> {
    const rows: Array<{ subsystem: string; last: string; n: string }> = await this.dataSource.query(
      `SELECT subsystem, max(hlc_ms) AS last, count(*) AS n FROM events
        WHERE ledger_id = $1 AND subsystem IS NOT NULL
        GROUP BY subsystem HAVING max(hlc_ms) <= $2 ORDER BY last LIMIT ${MAX_GROUPS}`,
      [ledger.id, nowMs - quietForMs],
    );
    return rows.map((r) => ({
      subsystem: r.subsystem,
      lastAt: new Date(Number(r.last)),
      quietForMs: nowMs - Number(r.last),
      events: Number(r.n),
    }));
  }

  async uniqueAuthors(ledger: LedgerRow): Promise<number> {
    const [r] = await this.dataSource.query(`SELECT count(DISTINCT author) AS n FROM events WHERE ledger_id = $1`, [ledger.id]);
    return Number(r.n);
  }
}
