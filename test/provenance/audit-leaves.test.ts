import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditLeafRange } from '../../src/provenance/audit-leaves.js';
import { findAudits, NO_BOUND } from '../../src/provenance/reads.js';
import { openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
let stored: Array<{ idx: number; ms: number; agent: string }>;

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
      const batch = Array.from({ length: 1 + (step % 3) }, () => ({
        queryId: `leaf-${n}`, agentId: n++ % 2 ? 'agent-a' : 'agent-b', subject: 'auth/ttl', predicate: 'value', result: n,
        contributingAssertions: [{ assertionHash: a.hash, weight: 1 }],
      }));
      await t.prov.recordQueries('main', batch, 'recorder');
    }
  } finally {
    vi.useRealTimers();
  }
  stored = (await t.db.dataSource.query(`SELECT event_idx, hlc_ms, agent_id FROM prov_query_audits ORDER BY event_idx`)).map(
    (r: { event_idx: string; hlc_ms: string; agent_id: string }) => ({ idx: Number(r.event_idx), ms: Number(r.hlc_ms), agent: r.agent_id }),
  );
});
afterAll(async () => t?.close());

describe('query audits along leaf order', () => {
  it('never go back in time, whatever the wall clock and client-stamped events do', () => {
    expect(stored.length).toBeGreaterThan(20);
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.ms).toBeGreaterThanOrEqual(stored[i - 1]!.ms);
    // The clock did step back and client events did run ahead: the times are not simply the wall clock's.
    expect(new Set(stored.map((s) => s.ms)).size).toBeLessThan(stored.length);
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
    for (const bound of [NO_BOUND, stored[Math.floor(stored.length / 2)]!.idx]) {
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
  });
});
