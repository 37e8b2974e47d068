import type { DataSource, EntityManager } from 'typeorm';
import { rebuildAndCompare } from '../db/table-digest.js';
import type { LedgerRow } from '../ledger/entities/index.js';
import { EVENT_COLUMNS, eventFromRow, type RawEventRow } from '../ledger/sequencer.js';
import { PROVENANCE_EVENT_TYPES, PROVENANCE_SUBSYSTEM, projectProvenance } from './projection.js';

/** Every provenance projection: one row per event, so (ledger_id, event_idx) keys each. */
export const PROVENANCE_TABLES = ['prov_query_audits', 'prov_assertions', 'prov_sources', 'prov_operation_audits'];
const PAGE = 5000;

export interface ProvenanceReplayReport {
  ok: boolean;
  treeSize: number;
  eventsReplayed: number;
  /** Tables whose live rows differ from those the ledger's events give. */
  mismatchedTables: string[];
  /** Why nothing was compared: without the server's key its records cannot be told from look-alikes. */
  skipped?: string;
}

/**
 * Projects the provenance events of `ledger` below `treeSize` into whichever tables the
 * names resolve to in `tx` (the live ones, or temporary ones that shadow them). Only events
 * the server signed count: before the subsystem was reserved, a writer could append an event
 * that merely looks like `AssertionRecorded`; only the provenance service appends them as the
 * server, and signs them. The author column alone is not enough: a server that ran without a
 * key did not stop clients from naming its DID on unsigned events.
 */
async function projectFromEvents(tx: EntityManager, ledger: LedgerRow, serverDids: readonly string[], treeSize: number): Promise<number> {
  let after = -1;
  let total = 0;
  for (;;) {
    const rows: RawEventRow[] = await tx.query(
      `SELECT ${EVENT_COLUMNS} FROM events
        WHERE ledger_id = $1 AND idx > $2 AND idx < $3 AND type = ANY($4::text[]) AND subsystem = $5 AND author = ANY($6::text[])
          AND signature IS NOT NULL AND origin IS NULL
        ORDER BY idx LIMIT ${PAGE}`,
      [ledger.id, after, treeSize, PROVENANCE_EVENT_TYPES, PROVENANCE_SUBSYSTEM, serverDids],
    );
    if (rows.length === 0) return total;
    const events = rows.map((r) => eventFromRow(ledger.name, r));
    await projectProvenance(tx, ledger.id, events, { check: false });
    total += events.length;
    after = events.at(-1)!.index;
  }
}

const treeSizeOf = async (tx: EntityManager, ledger: LedgerRow): Promise<number> =>
  Number((await tx.query(`SELECT tree_size FROM ledger_heads WHERE ledger_id = $1`, [ledger.id]))[0].tree_size);

/**
 * Rebuilds a ledger's provenance tables from its events alone, in one transaction.
 * Without a DID of a key that wrote them (`serverDids`: the current key's, then previous keys'), rows would vanish that running servers
 * still hold committed or cached (KnownAssertions, RecordedAssertions, FirstSources): restart
 * them after such a rebuild.
 */
export async function rebuildProvenance(dataSource: DataSource, ledger: LedgerRow, serverDids: readonly string[]): Promise<number> {
  return dataSource.transaction(async (tx) => {
    // Under the head row's lock: an append committing meanwhile would write its rows twice.
    await tx.query(`SELECT 1 FROM ledger_heads WHERE ledger_id = $1 FOR UPDATE`, [ledger.id]);
    for (const t of PROVENANCE_TABLES) await tx.query(`DELETE FROM ${t} WHERE ledger_id = $1`, [ledger.id]);
    return projectFromEvents(tx, ledger, serverDids, await treeSizeOf(tx, ledger));
  });
}

/**
 * Rebuilds a ledger's provenance projections from its events and compares them with the live
 * ones, changing nothing (see rebuildAndCompare), in one REPEATABLE READ snapshot, so appends
 * running meanwhile skew neither side.
 */
export async function replayProvenance(dataSource: DataSource, ledger: LedgerRow, serverDids: readonly string[] | undefined): Promise<ProvenanceReplayReport> {
  if (serverDids === undefined) {
    const skipped = 'this process has no signing key, which tells the server\'s own records from look-alikes: set CHAINPROOF_SIGNING_SEED or CHAINPROOF_SIGNING_KEY_FILE';
    return { ok: true, treeSize: 0, eventsReplayed: 0, mismatchedTables: [], skipped };
  }
  return dataSource.transaction('REPEATABLE READ', async (tx) => {
    const treeSize = await treeSizeOf(tx, ledger);
    const tables = PROVENANCE_TABLES.map((name) => ({ name, key: ['event_idx'], where: { ledger_id: ledger.id } }));
    let eventsReplayed = 0;
    const mismatchedTables = await rebuildAndCompare(tx, tables, async () => {
      eventsReplayed = await projectFromEvents(tx, ledger, serverDids, treeSize);
    });
    return { ok: mismatchedTables.length === 0, treeSize, eventsReplayed, mismatchedTables };
  });
}
