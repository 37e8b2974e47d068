import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAudits } from '../../src/provenance/reads.js';
import { explaining, rowsRead } from '../support/plan.js';
import { openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
});
afterAll(async () => t?.close());

const audits = (from: number, n: number, assertionHash: string) =>
  Array.from({ length: n }, (_, k) => ({
    queryId: `q${from + k}`,
    // One audit in ten is the deployer's; ten agents take turns along the ledger.
    agentId: (from + k) % 10 === 0 ? 'deployer' : `agent-${(from + k) % 10}`,
    subject: 'auth/ttl',
    predicate: 'value',
    result: from + k,
    contributingAssertions: [{ assertionHash, weight: 1 }],
  }));

describe("an agent's audits in ledger order", () => {
  it('as of a past tree size, the last page is read from the bound back, not sorted out of every earlier audit', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://cfg', contentHash: sha('cfg') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'auth/ttl', predicate: 'value', value: 30, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    for (let from = 0; from < 4000; from += 500) await t.prov.recordQueries('main', audits(from, 500, a.hash), 'recorder');
    const bound = (await t.service.head('main')).treeSize;
    for (let from = 4000; from < 6000; from += 500) await t.prov.recordQueries('main', audits(from, 500, a.hash), 'recorder');
    await t.db.dataSource.query('ANALYZE prov_query_audits');

    const ledger = await t.service.ledger('main');
    const { db, lastPlan } = explaining(t.db.dataSource);
    const page = await findAudits(db as unknown as DataSource, ledger, { agent: 'deployer' }, { limit: 11, backwards: true }, bound);
    expect(page.map((r) => r.queryId)).toEqual(Array.from({ length: 11 }, (_, k) => `q${3990 - 10 * k}`));
    // 400 of the deployer's audits lie before the bound, among 4,000; the page needs 11 of them.
    expect(rowsRead(lastPlan(), 'prov_query_audits')).toBe(11);
  });
});
