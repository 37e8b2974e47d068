import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
});
afterAll(async () => t?.close());

describe('migration: citations into the audit row', () => {
  it('moves citations to rows of their own and back, in order, and reads give the same audits', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://m', contentHash: sha('m') }, 'c');
    const [a1, a2] = await Promise.all(
      [1, 2].map((v) => t.prov.recordAssertion('main', { subject: 'm/x', predicate: 'p', value: v, lifecycle: 'ACCEPTED', confidence: 0.5, sourceHash: src.contentHash }, 'c')),
    );
    await t.prov.recordQueries('main', [
      { queryId: 'm-2', agentId: 'm', subject: 'm/x', predicate: 'p', result: 2, contributingAssertions: [{ assertionHash: a2!.hash, weight: 0.25 }, { assertionHash: a1!.hash, weight: 0.75 }] },
      { queryId: 'm-0', agentId: 'm', subject: 'm/x', predicate: 'p', result: 0, contributingAssertions: [] },
    ], 'm');
    const read = async () =>
      (await t.prov.queryAudits('main', { agent: 'm' }, {})).items.map((i) => ({
        queryId: i.node.queryId,
        cited: i.node.contributingAssertions.map((c) => [c.assertionHash, c.weight, c.assertion.value, c.source?.locator]),
      }));
    const before = await read();
    expect(before).toEqual([
      { queryId: 'm-2', cited: [[a2!.hash, 0.25, 2, 'git://m'], [a1!.hash, 0.75, 1, 'git://m']] },
      { queryId: 'm-0', cited: [] },
    ]);
    const ds = t.db.dataSource;
    // Undo the migrations after it, then it.
    const names = ds.migrations.map((m) => m.name);
    expect(names).toContain('AuditContributions1733200000000');
    for (let n = names.length - names.indexOf('AuditContributions1733200000000'); n > 0; n--) await ds.undoLastMigration({ transaction: 'each' });
    const rows = await ds.query(`SELECT ordinal, encode(assertion_hash, 'hex') AS hash, weight FROM prov_contributions ORDER BY event_idx, ordinal`);
    expect(rows).toEqual([{ ordinal: 0, hash: a2!.hash, weight: 0.25 }, { ordinal: 1, hash: a1!.hash, weight: 0.75 }]);
    await ds.runMigrations({ transaction: 'each' });
    expect(await ds.query(`SELECT to_regclass('prov_contributions') AS t`)).toEqual([{ t: null }]);
    expect(await read()).toEqual(before);
  });
});
