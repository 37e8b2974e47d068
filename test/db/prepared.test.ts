import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverPool, prepared } from '../../src/db/driver-pool.js';
import { ProvenanceService } from '../../src/provenance/service.js';
import { usingPostgres } from '../support/db.js';
import { openTestProvenance, sha, type TestProvenance } from '../provenance/support.js';

/**
 * Key look-ups run as named prepared statements on PostgreSQL (src/db/driver-pool.ts): parsed and
 * planned once per connection. One pooled connection, so `pg_prepared_statements` (per session)
 * shows them all. The embedded database's connections share one session: there they run unnamed.
 */
let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance({ poolSize: 1 });
});
afterAll(async () => t?.close());

/** Texts of the statements prepared on the one connection. */
async function preparedTexts(): Promise<string[]> {
  const rows: Array<{ name: string; statement: string }> = await t.db.dataSource.query('SELECT name, statement FROM pg_prepared_statements');
  return rows.filter((r) => r.name.startsWith('cp_')).map((r) => r.statement);
}

/** The pooled connection, closed: the next statement opens another. */
async function closePooledConnection(): Promise<void> {
  const client = await driverPool(t.db.dataSource).connect();
  client.release(true);
}

describe('look-ups on any database', () => {
  it('answer again after their connection is replaced', async () => {
    const text = 'SELECT $1::int + 1 AS n';
    expect(await prepared(t.db.dataSource, text, [1])).toEqual([{ n: 2 }]);
    await closePooledConnection();
    expect(await prepared(t.db.dataSource, text, [2])).toEqual([{ n: 3 }]);
    await closePooledConnection();
    expect(await t.service.head('main')).toMatchObject({ treeSize: expect.any(Number) });
  });
});

describe.runIf(usingPostgres())('prepared statements on PostgreSQL', () => {
  it('prepares a statement once and answers as a plain one would; inside a transaction it runs unnamed', async () => {
    const text = 'SELECT $1::int + 1 AS n';
    expect(await prepared(t.db.dataSource, text, [41])).toEqual([{ n: 42 }]);
    expect(await prepared(t.db.dataSource, text, [1])).toEqual([{ n: 2 }]);
    expect((await preparedTexts()).filter((s) => s === text)).toHaveLength(1);

    const inTransaction = 'SELECT $1::int * 2 AS n';
    const rows = await t.db.dataSource.transaction((tx) => prepared(tx, inTransaction, [21]));
    expect(rows).toEqual([{ n: 42 }]);
    expect(await preparedTexts()).not.toContain(inTransaction);
  });

  it('prepares the look-ups of a point query and an inclusion proof, not a time window\'s read', async () => {
    const source = await t.prov.recordSource('main', { locator: 'https://cfg.example/p', contentHash: sha('p'), mediaType: 'application/json' }, 'curator');
    const assertion = await t.prov.recordAssertion(
      'main',
      { subject: 'auth/p', predicate: 'timeout', value: 30, lifecycle: 'ACCEPTED', confidence: 0.9, sourceHash: source.contentHash },
      'curator',
    );
    const audit = await t.prov.recordQuery(
      'main',
      { queryId: 'point-1', agentId: 'agent-p', subject: 'auth/p', predicate: 'timeout', result: 30, contributingAssertions: [{ assertionHash: assertion.hash, weight: 1 }] },
      'agent-key',
    );
    // Recording filled the caches of cited records: a new service has to read them.
    const fresh = new ProvenanceService(t.db.dataSource, t.service);
    const page = await fresh.queryAudits('main', { queryId: 'point-1' }, { first: 1 });
    expect(page.items.map((i) => i.node.contributingAssertions[0]!.source?.locator)).toEqual(['https://cfg.example/p']);
    const proof = await t.service.inclusionProof('main', { index: audit.eventIndex });
    expect(proof.leafIndex).toBe(audit.eventIndex);
    await fresh.trace('main', { agent: 'agent-p', sinceMs: 0, untilMs: Date.now() + 60_000 });

    const texts = await preparedTexts();
    const on = (table: string) => texts.filter((s) => s.includes(`FROM ${table} `));
    expect(on('prov_query_audits')).toHaveLength(1);
    expect(on('prov_query_audits')[0]).toContain('q.query_id = $');
    expect(on('prov_assertions')).toHaveLength(1);
    expect(on('prov_sources')).toHaveLength(1);
    expect(on('tree_nodes')).toHaveLength(1);
    expect(on('ledger_heads')).toHaveLength(1);
  });

  it('keep the connection through a statement\'s own error, and prepare again where the session lost the statement', async () => {
    const text = 'SELECT $1::text AS s, pg_backend_pid() AS pid';
    const [{ pid }] = await prepared<{ pid: number }>(t.db.dataSource, text, ['a']);
    // NUL is not text in PostgreSQL: the server refuses the value (22021), the session is unharmed.
    await expect(prepared(t.db.dataSource, text, ['a\u0000'])).rejects.toMatchObject({ code: '22021' });
    expect((await prepared<{ pid: number }>(t.db.dataSource, text, ['b']))[0]!.pid).toBe(pid);
    // The session forgets its statements behind the driver's back (a pooler switching sessions would):
    // the look-up still answers, on a new connection.
    await t.db.dataSource.query('DEALLOCATE ALL');
    const [again] = await prepared<{ s: string; pid: number }>(t.db.dataSource, text, ['c']);
    expect(again!.s).toBe('c');
    expect(again!.pid).not.toBe(pid);
  });
});
