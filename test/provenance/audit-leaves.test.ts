import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditLeafRange } from '../../src/provenance/audit-leaves.js';
import { findAudits, NO_BOUND } from '../../src/provenance/reads.js';
import { openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
let stored: Array<{ idx: number; ms: number; agent: string }>;
/** The wall clock at each batch of audits. */
const walls: number[] = [];

/**
 * A ledger whose clocks misbehave: the wall clock steps back, client-stamped events lag
 * behind the ledger's time or run ahead of it, and several audits share a millisecond.
 */
beforeAll(async () => {
  t = await openTestProvenance();
  const src = await t.prov.recordSource('main', { locator: 'git://leaves', contentHash: sha('leaves') }, 'curator');
  const a = await t.prov.recordAssertion('main', { subject: 'auth/ttl', predicate: 'value', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
  const start = Date.now();
  vi.useFakeTimers({ toFake: ['Date'], now: start });
  try {
    let n = 0;
    const wall = [0, 1_000, 1_000, 2_500, 2_000, 4_000, 4_001, 9_000, 8_000, 12_000, 12_000, 15_000, 20_000, 21_000, 30_000];
    for (const [step, offset] of wall.entries()) {
      vi.setSystemTime(start + offset);
      if (step % 4 === 1) {
        // Stamped by a client 30 s behind the clock, on no parents: the ledger's time does not go back.
        await t.service.append('main', [{ type: 'ops.note', actor: 'client', parents: [], hlc: { physicalMs: Date.now() - 30_000, logical: 0 } }]);
      }
      if (step % 5 === 2) {
        // 20 s ahead of the clock: audits after it are stamped after it.
        await t.service.append('main', [{ type: 'ops.note', actor: 'client', parents: [], hlc: { physicalMs: Date.now() + 20_000, logical: 0 } }]);
      }
      walls.push(Date.now());
      const batch = Array.from({ length: 1 + (step % 3) }, () => ({
        queryId: `leaf-${n}`, agentId: n++ % 2 ? 'agent-a' : 'agent-b', subject: 'auth/ttl', predicate: 'value', result: n,
        contributingAssertions: [{ assertionHash: a.hash, weight: 1 }],
      }));
      await t.prov.recordQueries('main', batch, 'recorder');
    }
  } finally {
    vi.useRealTimers();
  }
  const main = await t.service.ledger('main');
  stored = (await t.db.dataSource.query(`SELECT event_idx, hlc_ms, agent_id FROM prov_query_audits WHERE ledger_id = $1 ORDER BY event_idx`, [main.id])).map(
    (r: { event_idx: string; hlc_ms: string; agent_id: string }) => ({ idx: Number(r.event_idx), ms: Number(r.hlc_ms), agent: r.agent_id }),
  );
});
afterAll(async () => t?.close());

describe('query audits along leaf order', () => {
  it('never go back in time, whatever the wall clock and client-stamped events do', () => {
    expect(stored.length).toBeGreaterThan(20);
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.ms).toBeGreaterThanOrEqual(stored[i - 1]!.ms);
    // A client event ran the ledger's clock ahead of the wall clock, and the wall clock then stepped back:
    // audits were stamped after the wall clock, and later batches ran at an earlier wall time.
    expect(stored.some((s) => s.ms > Math.max(...walls))).toBe(true);
    expect(walls.some((w, i) => i > 0 && w < walls[i - 1]!)).toBe(true);
  });

  it('a time window read by leaf range returns exactly the audits a filter by time does', async () => {
    const ledger = await t.service.ledger('main');
    const times = [...new Set(stored.map((s) => s.ms))];
    const edges = [...new Set(times.flatMap((ms) => [ms - 1, ms, ms + 1]))].sort((x, y) => x - y);
    const bounds = [NO_BOUND, stored[Math.floor(stored.length / 2)]!.idx];
    let compared = 0;
    for (let i = 0; i < edges.length; i++) {
      for (let j = i; j < edges.length; j++) {
        const [fromMs, toMs] = [edges[i]!, edges[j]!];
        for (const bound of bounds) {
          for (const agent of [undefined, 'agent-a']) {
            const want = stored.filter((s) => s.ms >= fromMs && s.ms <= toMs && s.idx < bound && (!agent || s.agent === agent)).map((s) => s.idx);
            const got = await findAudits(t.db.dataSource, ledger, { agent, fromMs, toMs }, { limit: 1000, backwards: false }, bound);
            expect(got.map((g) => g.eventIndex), `window ${fromMs}..${toMs}, bound ${bound}, agent ${agent}`).toEqual(want);
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(400);
  });

  it('bounds a window by the leaf after the last audit before it and the leaf after its own last audit', async () => {
    const ledger = await t.service.ledger('main');
    const after = (audits: typeof stored) => (audits.length === 0 ? 0 : audits.at(-1)!.idx + 1);
    // Also a bound before the first audit: the ledger then had none.
    for (const bound of [NO_BOUND, stored[Math.floor(stored.length / 2)]!.idx, stored[0]!.idx]) {
      const seen = stored.filter((s) => s.idx < bound);
      for (const ms of [...new Set(seen.flatMap((s) => [s.ms - 1, s.ms, s.ms + 1]))]) {
        const to = after(seen.filter((s) => s.ms <= ms));
        expect(await auditLeafRange(t.db.dataSource, ledger.id, bound, { fromMs: ms, toMs: ms }), `at ${ms}, bound ${bound}`).toEqual({
          from: after(seen.filter((s) => s.ms < ms)),
          // Open when no audit is after the window.
          to: to === after(seen) ? undefined : to,
        });
      }
    }
    expect(await auditLeafRange(t.db.dataSource, ledger.id, NO_BOUND, {})).toEqual({ from: 0, to: undefined });
    const empty = await t.service.createLedger('no-audits', {});
    expect(await auditLeafRange(t.db.dataSource, empty.id, NO_BOUND, { fromMs: 0, toMs: Date.now() })).toEqual({ from: 0, to: undefined });
  });

  it('bounds a window by its own ledger\'s audits only', async () => {
    const empty = await t.service.createLedger('audits-none', {});
    // Later than every audit of main, and earlier: neither end may come from main's leaves.
    for (const window of [{ fromMs: stored.at(-1)!.ms + 1 }, { toMs: stored[0]!.ms - 1 }, { fromMs: stored[0]!.ms, toMs: stored.at(-1)!.ms }]) {
      expect(await auditLeafRange(t.db.dataSource, empty.id, NO_BOUND, window), JSON.stringify(window)).toEqual({ from: 0, to: undefined });
    }
    // A ledger whose audits sit at leaf indexes main holds audits at too.
    const other = await t.service.createLedger('audits-other', {});
    const start = stored.at(-1)!.ms + 1_000;
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    try {
      for (let n = 0; n < 6; n++) {
        vi.setSystemTime(start + 1_000 * n);
        await t.prov.recordQuery('audits-other', { agentId: 'o', subject: 's', predicate: 'p', result: n, contributingAssertions: [] }, 'o');
      }
    } finally {
      vi.useRealTimers();
    }
    const own = (await t.db.dataSource.query(`SELECT event_idx, hlc_ms FROM prov_query_audits WHERE ledger_id = $1 ORDER BY event_idx`, [other.id])).map(
      (r: { event_idx: string; hlc_ms: string }) => ({ idx: Number(r.event_idx), ms: Number(r.hlc_ms) }),
    ) as typeof stored;
    expect(own.map((o) => o.idx)).toEqual([0, 1, 2, 3, 4, 5]);
    const after = (audits: typeof stored) => (audits.length === 0 ? 0 : audits.at(-1)!.idx + 1);
    for (const ms of own.flatMap((o) => [o.ms - 1, o.ms, o.ms + 1])) {
      const to = after(own.filter((o) => o.ms <= ms));
      expect(await auditLeafRange(t.db.dataSource, other.id, NO_BOUND, { fromMs: ms, toMs: ms }), `at ${ms}`).toEqual({
        from: after(own.filter((o) => o.ms < ms)),
        to: to === after(own) ? undefined : to,
      });
    }
  });

  it('refuses, whole, a batch of audits that would go back in time, and records again once nothing would', async () => {
    const main = await t.service.ledger('main');
    // A row out of order, as a write path that broke the rule would leave: the last audit, far in the future.
    const [note] = await t.service.append('main', [{ type: 'ops.note', actor: 'client' }]);
    await t.db.dataSource.query(
      `INSERT INTO prov_query_audits (ledger_id, event_idx, event_id, query_id, agent_id, subject, predicate, result, result_hash, recorded_by, hlc_ms)
       VALUES ($1, $2, '\\x00', 'future', 'agent-a', 'auth/ttl', 'value', '1', '\\x00', 'recorder', $3)`,
      [main.id, note!.index, Date.now() + 86_400_000],
    );
    const size = (await t.service.head('main')).treeSize;
    const input = { agentId: 'agent-a', subject: 'auth/ttl', predicate: 'value', result: 1, contributingAssertions: [] };
    await expect(t.prov.recordQueries('main', [input, input].map((q, i) => ({ ...q, queryId: `late-${i}` })), 'recorder')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect((await t.service.head('main')).treeSize).toBe(size);
    await t.db.dataSource.query(`DELETE FROM prov_query_audits WHERE ledger_id = $1 AND query_id = 'future'`, [main.id]);
    await expect(t.prov.recordQueries('main', [{ ...input, queryId: 'late-0' }], 'recorder')).resolves.toHaveLength(1);
  });
});
