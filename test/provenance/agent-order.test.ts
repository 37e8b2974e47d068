import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findAudits, NO_BOUND } from '../../src/provenance/reads.js';
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

  it("a trace's time window is read between its leaves, not through the agent's whole history", async () => {
    // Ten hours of history, 500 audits an hour; the window is the last hour.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    try {
      const src = await t.prov.recordSource('main', { locator: 'git://cfg-hours', contentHash: sha('cfg-hours') }, 'curator');
      const a = await t.prov.recordAssertion('main', { subject: 'auth/ttl', predicate: 'value', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
      let windowStart = 0;
      for (let hour = 0; hour < 10; hour++) {
        vi.setSystemTime(Date.now() + 3_600_000);
        if (hour === 9) windowStart = Date.now();
        await t.prov.recordQueries('main', audits(10_000 + hour * 500, 500, a.hash).map((q) => ({ ...q, agentId: q.agentId === 'deployer' ? 'historian' : q.agentId })), 'recorder');
      }
      await t.db.dataSource.query('ANALYZE prov_query_audits');
      const ledger = await t.service.ledger('main');
      const { db, lastPlan } = explaining(t.db.dataSource);
      const lines = await findAudits(db as unknown as DataSource, ledger, { agent: 'historian', fromMs: windowStart }, { limit: 1001, backwards: false }, NO_BOUND);
      expect(lines).toHaveLength(50);
      expect(lines[0]!.queryId).toBe('q14500');
      // 500 of the historian's audits in all; the window holds 50 of them.
      expect(rowsRead(lastPlan(), 'prov_query_audits')).toBe(50);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a batch's audits go in grouped by agent, so a trace reads a few heap pages rather than one per line", async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://cfg-pages', contentHash: sha('cfg-pages') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'auth/ttl', predicate: 'value', value: 2, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    // 1,000 audits in one batch, ten agents taking turns: the pager's 100 among them.
    const batch = audits(20_000, 1000, a.hash).map((q) => ({ ...q, agentId: q.agentId === 'deployer' ? 'pager' : q.agentId }));
    const events = await t.prov.recordQueries('main', batch, 'recorder');
    expect(events.map((e) => (e.payload as { queryId: string }).queryId)).toEqual(batch.map((q) => q.queryId));

    const pagesOf = async (where: string) => {
      const [r] = await t.db.dataSource.query(`SELECT count(DISTINCT (ctid::text::point)[0]) AS n FROM prov_query_audits WHERE ${where}`);
      return Number(r.n);
    };
    const batchPages = await pagesOf(`query_id LIKE 'q2____'`);
    // In ledger order the pager's audits would lie one in ten rows, on every page of the batch.
    expect(batchPages).toBeGreaterThanOrEqual(20);
    expect(await pagesOf(`agent_id = 'pager'`)).toBeLessThanOrEqual(Math.ceil(batchPages / 10) + 1);
    // Reads still come in ledger order.
    const ledger = await t.service.ledger('main');
    const lines = await findAudits(t.db.dataSource, ledger, { agent: 'pager' }, { limit: 101, backwards: false }, NO_BOUND);
    expect(lines.map((l) => l.queryId)).toEqual(Array.from({ length: 100 }, (_, k) => `q${20_000 + 10 * k}`));
    expect(lines.map((l) => l.eventIndex)).toEqual([...lines.map((l) => l.eventIndex)].sort((x, y) => x - y));
  });
});
