import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVENANCE_TABLES, rebuildProvenance, replayProvenance } from '../../src/provenance/rebuild.js';
import { queryPayload } from '../../src/provenance/records.js';
import { canonicalBytes } from '../../src/ledger/events/envelope.js';
import { openTestLedger } from '../support/ledger.js';
import { codeOf, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
});
afterAll(async () => t?.close());

async function snapshot(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of PROVENANCE_TABLES) {
    const rows: Array<Record<string, unknown>> = await t.db.dataSource.query(`SELECT * FROM ${table}`);
    out[table] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

describe('rebuilding provenance projections', () => {
  it('replaying the ledger gives exactly the live tables; writers cannot append look-alike records', async () => {
    const src = await t.prov.recordSource('main', { locator: 'l', contentHash: sha('s'), mediaType: 'text/plain' }, 'a');
    const a1 = await t.prov.recordAssertion('main', { subject: 's/1', predicate: 'p', value: { k: [1, 'two'] }, lifecycle: 'PROPOSED', confidence: 0.25, sourceHash: src.contentHash }, 'a');
    const a2 = await t.prov.recordAssertion('main', { subject: 's/1', predicate: 'p', value: { k: [1, 'three'] }, lifecycle: 'ACCEPTED', confidence: 0.75, sourceHash: src.contentHash, supersedes: a1.hash }, 'b');
    await t.prov.recordQueries('main', Array.from({ length: 20 }, (_, i) => ({
      agentId: `agent-${i % 3}`, subject: `s/${i}`, predicate: 'p', lens: i % 2 ? 'prod' : null, lifecycleFilter: i % 2 ? ['ACCEPTED', 'PROPOSED'] : null,
      result: { i }, resultConfidence: i % 4 ? 0.5 : null,
      contributingAssertions: [{ assertionHash: a2.hash, weight: 0.7 }, { assertionHash: a1.hash, weight: 0.3 }],
    })), 'c');
    await t.prov.recordOperation('main', { principal: 'agent-0', operationName: 'Q', operationType: 'query', documentHash: sha('d'), variablesHash: sha('v'), resultHash: sha('r'), durationMs: 1.5 });
    // Only the server writes in the provenance subsystem: a writer's look-alike record is refused.
    const forged = { type: 'AssertionRecorded', actor: 'mallory', subsystem: 'provenance', payload: { hash: sha('forged'), subject: 'x', predicate: 'p', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: sha('s') } };
    expect(await codeOf(t.service.append('main', [forged]))).toBe('FORBIDDEN');
    await t.service.createLedger('other', {});
    const otherSrc = await t.prov.recordSource('other', { locator: 'o', contentHash: sha('o') }, 'a');

    const live = await snapshot();
    expect(live.prov_query_audits).toHaveLength(20);
    // Citations live in the audit's row, in the order the audit gave them.
    const [cited] = await t.db.dataSource.query(
      `SELECT array_to_string(ARRAY(SELECT encode(h, 'hex') FROM unnest(assertion_hashes) AS h), ',') AS hashes, weights::text AS weights
         FROM prov_query_audits WHERE subject = 's/7'`,
    );
    expect(cited).toEqual({ hashes: `${a2.hash},${a1.hash}`, weights: '{0.7,0.3}' });
    expect(live.prov_assertions).toHaveLength(2);
    const main = await t.service.ledger('main');
    expect(await rebuildProvenance(t.db.dataSource, main, t.service.serverKey!.dids)).toBe(24);
    expect(await snapshot()).toEqual(live);

    // Emptied tables come back too, and other ledgers' rows are left alone.
    for (const table of PROVENANCE_TABLES) await t.db.dataSource.query(`DELETE FROM ${table} WHERE ledger_id = $1`, [main.id]);
    expect((await snapshot()).prov_sources).toHaveLength(1);
    await rebuildProvenance(t.db.dataSource, main, t.service.serverKey!.dids);
    expect(await snapshot()).toEqual(live);
    expect(otherSrc.eventIndex).toBe(0);
  });

  it('skips an event that names the server as author but carries no signature', async () => {
    // A server that ran without a key let a client write this: the DID it signs with later, and no signature.
    const keyless = await openTestLedger({ CHAINPROOF_SIGNING_SEED: '' }, { produceBlocks: false });
    try {
      const did = t.service.serverKey!.did;
      const payload = queryPayload({ queryId: 'unsigned', agentId: 'x', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] });
      await keyless.service.append('main', [{ type: 'QueryRecorded', actor: 'mallory', author: did, subsystem: 'provenance', resource: 'query/unsigned', payload }]);
      expect(await rebuildProvenance(keyless.db.dataSource, await keyless.service.ledger('main'), [did])).toBe(0);
    } finally {
      await keyless.close();
    }
  });

  it('replays the ledger against the live tables and names each table that differs, changing nothing', async () => {
    const main = await t.service.ledger('main');
    const did = t.service.serverKey!.dids;
    const { treeSize } = await t.service.head('main');
    const clean = await replayProvenance(t.db.dataSource, main, did);
    expect(clean).toEqual({ ok: true, treeSize, eventsReplayed: 24, mismatchedTables: [] });

    const live = await snapshot();
    await t.db.dataSource.query(`UPDATE prov_query_audits SET result = '"forged"' WHERE ledger_id = $1 AND subject = 's/7'`, [main.id]);
    await t.db.dataSource.query(`DELETE FROM prov_operation_audits WHERE ledger_id = $1`, [main.id]);
    const tampered = await snapshot();
    const found = await replayProvenance(t.db.dataSource, main, did);
    expect(found.ok).toBe(false);
    expect(found.mismatchedTables.sort()).toEqual(['prov_operation_audits', 'prov_query_audits']);
    // The replay wrote into temporary tables only: the tampered rows are as they were, and the other ledger's too.
    expect(await snapshot()).toEqual(tampered);
    expect((await replayProvenance(t.db.dataSource, await t.service.ledger('other'), did)).ok).toBe(true);

    await rebuildProvenance(t.db.dataSource, main, did);
    expect(await snapshot()).toEqual(live);
    expect((await t.prov.replay('main')).ok).toBe(true);
    // Without the server's key, its records cannot be told from look-alikes: skipped, not failed.
    expect(await replayProvenance(t.db.dataSource, main, undefined)).toMatchObject({ ok: true, mismatchedTables: [], skipped: expect.stringMatching(/no signing key/) });
  });

  it("leaves out a peer's provenance events synced into the ledger, even signed with this server's key", async () => {
    // A peer sharing this server's key signs as it does: the copy is history, not this node's record.
    const main = await t.service.ledger('main');
    const dids = t.service.serverKey!.dids;
    const before = await replayProvenance(t.db.dataSource, main, dids);
    const payload = queryPayload({ queryId: 'from-peer', agentId: 'peer-agent', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] });
    const canonical = canonicalBytes({
      ledger: 'peer.example/main', type: 'QueryRecorded', actor: 'peer', author: dids[0], subsystem: 'provenance', resource: 'query/from-peer',
      parents: [], hlc: { physicalMs: Date.now() - 1000, logical: 0 }, payload,
    });
    const [signature] = await t.service.serverKey!.signMany([canonical]);
    await t.service.appendReplicated('main', [{ canonical, signature: signature! }]);
    expect(await replayProvenance(t.db.dataSource, main, dids)).toMatchObject({ ok: true, eventsReplayed: before.eventsReplayed, mismatchedTables: [] });
    await rebuildProvenance(t.db.dataSource, main, dids);
    expect(await t.db.dataSource.query(`SELECT 1 FROM prov_query_audits WHERE query_id = 'from-peer'`)).toEqual([]);
  });
});
