import type { DataSource } from 'typeorm';
import type { LedgerRow } from '../ledger/entities/index.js';
import { EVENT_COLUMNS, eventFromRow, type RawEventRow } from '../ledger/sequencer.js';
import { PROVENANCE_EVENT_TYPES, PROVENANCE_SUBSYSTEM, projectProvenance } from './projection.js';

export const PROVENANCE_TABLES = ['prov_query_audits', 'prov_assertions', 'prov_sources', 'prov_operation_audits'];
const PAGE = 5000;

/**
 * Rebuilds a ledger's provenance tables from its events alone, in one transaction. Only
 * events the server signed count: anyone with a writer key can append an event that merely
 * looks like `AssertionRecorded`, but only the provenance service appends them as the server,
 * and signs them. The author column alone is not enough: a server that ran without a key did
 * not stop clients from naming its DID on unsigned events.
 * With another `serverDid` than the one that wrote them, rows would vanish that running servers
 * still hold committed or cached (KnownAssertions, RecordedAssertions, FirstSources): restart
 * them after such a rebuild.
 */
export async function rebuildProvenance(dataSource: DataSource, ledger: LedgerRow, serverDid: string): Promise<number> {
  return dataSource.transaction(async (tx) => {
    for (const t of PROVENANCE_TABLES) await tx.query(`DELETE FROM ${t} WHERE ledger_id = $1`, [ledger.id]);
    let after = -1;
    let total = 0;
    for (;;) {
      const rows: RawEventRow[] = await tx.query(
        `SELECT ${EVENT_COLUMNS} FROM events
          WHERE ledger_id = $1 AND idx > $2 AND type = ANY($3::text[]) AND subsystem = $4 AND author = $5 AND signature IS NOT NULL AND origin IS NULL
          ORDER BY idx LIMIT ${PAGE}`,
        [ledger.id, after, PROVENANCE_EVENT_TYPES, PROVENANCE_SUBSYSTEM, serverDid],
      );
      if (rows.length === 0) return total;
      const events = rows.map((r) => eventFromRow(ledger.name, r));
      await projectProvenance(tx, ledger.id, events, { check: false });
      total += events.length;
      after = events.at(-1)!.index;
    }
  });
}
