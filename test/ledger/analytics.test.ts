import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
let startedAt: number;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  await t.service.createLedger('ops', {});
  const old = Date.now() - 50_000;
  // A subsystem that went quiet 50 s ago (its own branch: parents [] lets its clock be older).
  await t.service.append('ops', [{ type: 'billing.run', actor: 'cron', subsystem: 'billing', parents: [], hlc: { physicalMs: old, logical: 0 } }]);
  startedAt = Date.now();
  await t.service.append('ops', [
    { type: 'deploy', actor: 'bot', subsystem: 'ci', result: 'success', correlationId: 'cycle-1' },
    { type: 'deploy', actor: 'bot', subsystem: 'ci', result: 'failure', correlationId: 'cycle-1' },
    { type: 'login', actor: 'alice', subsystem: 'auth', result: 'DENIED' },
    { type: 'login', actor: 'alice', subsystem: 'auth', result: 'denied' },
    { type: 'login', actor: 'bob', subsystem: 'auth', result: 'success' },
    { type: 'rollback', actor: 'bot', subsystem: 'ci', correlationId: 'cycle-1' },
  ]);
});
afterAll(async () => t?.close());

describe('analytics', () => {
  it('activitySummary counts since a time by actor, type and subsystem', async () => {
    const a = await t.service.activitySummary('ops', startedAt - 1);
    expect(a.total).toBe(6);
    expect(a.byActor.map((x) => [x.key, x.count])).toEqual([['bot', 3], ['alice', 2], ['bob', 1]]);
    expect(a.byType.map((x) => [x.key, x.count])).toEqual([['login', 3], ['deploy', 2], ['rollback', 1]]);
    expect(a.bySubsystem.map((x) => x.key).sort()).toEqual(['auth', 'ci']);
    expect((await t.service.activitySummary('ops', 0)).total).toBe(7);
  });

  it('failureSummary groups failed events, case-insensitively', async () => {
    const f = await t.service.failureSummary('ops', 0);
    expect(f.map((g) => [g.type, g.result, g.count])).toEqual(expect.arrayContaining([['deploy', 'failure', 1], ['login', 'DENIED', 1], ['login', 'denied', 1]]));
    expect(f.reduce((n, g) => n + g.count, 0)).toBe(3);
    expect(f.every((g) => /^[0-9a-f]{64}$/.test(g.lastEventId))).toBe(true);
  });

  it('subsystemGaps names subsystems quiet for longer than asked', async () => {
    const gaps = await t.service.subsystemGaps('ops', 30_000);
    expect(gaps.map((g) => g.subsystem)).toEqual(['billing']);
    expect(gaps[0]!.quietForMs).toBeGreaterThanOrEqual(50_000);
    expect(await t.service.subsystemGaps('ops', 3_600_000)).toEqual([]);
  });

  it('replay returns one correlation id\'s events in order; stats count authors and report status', async () => {
    const page = await t.service.events('ops', { correlationId: 'cycle-1' }, {});
    expect(page.items.map((i) => i.node.type)).toEqual(['deploy', 'deploy', 'rollback']);
    const stats = await t.service.stats('ops');
    expect(stats).toMatchObject({ treeSize: 7, status: 'OK', uniqueAuthors: 0 });
  });
});
