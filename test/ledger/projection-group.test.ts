import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainproofError } from '../../src/errors.js';
import type { ProjectionGroup } from '../../src/ledger/sequencer.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  await t.service.createLedger('grouped', {});
  await t.db.dataSource.query(`CREATE TABLE grouped_projection (idx bigint PRIMARY KEY, label text NOT NULL)`);
});
afterAll(async () => t?.close());

/** A group that writes one row per event in one statement, and records each call's requests. */
function recordingGroup(refuse?: string) {
  const calls: string[][] = [];
  const group: ProjectionGroup<string> = {
    async project(tx, requests) {
      calls.push(requests.map((r) => r.context));
      if (refuse !== undefined && requests.some((r) => r.context === refuse)) throw new ChainproofError('BAD_USER_INPUT', `refused ${refuse}`);
      const events = requests.flatMap((r) => r.events.map((e) => ({ idx: e.index, label: r.context })));
      await tx.query(`INSERT INTO grouped_projection SELECT * FROM unnest($1::bigint[], $2::text[])`, [events.map((e) => e.idx), events.map((e) => e.label)]);
    },
  };
  return { group, calls };
}

const append = (group: ProjectionGroup<string>, label: string) =>
  t.service.append('grouped', [{ type: 'grouped.thing', actor: label }], { projection: { group, context: label } });

describe('grouped projections', () => {
  it('projects the requests of one commit in one call, in ledger order', async () => {
    const { group, calls } = recordingGroup();
    const labels = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const events = await Promise.all(labels.map((l) => append(group, l)));
    // The first append commits alone; the others queued behind it and share the next commit.
    expect(calls.flat().sort()).toEqual([...labels].sort());
    expect(Math.max(...calls.map((c) => c.length))).toBeGreaterThan(1);
    const rows: Array<{ idx: string; label: string }> = await t.db.dataSource.query(`SELECT idx, label FROM grouped_projection ORDER BY idx`);
    expect(rows.map((r) => [Number(r.idx), r.label])).toEqual(events.map(([e], i) => [e!.index, labels[i]]));
    for (const c of calls) expect(c).toEqual([...c].sort((a, b) => labels.indexOf(a) - labels.indexOf(b)));
  });

  it('a group that refuses one request fails that append alone; the others land', async () => {
    const before = (await t.service.head('grouped')).treeSize;
    const { group } = recordingGroup('bad');
    const labels = ['g0', 'g1', 'bad', 'g3', 'g4'];
    const settled = await Promise.allSettled(labels.map((l) => append(group, l)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await t.service.head('grouped')).treeSize).toBe(before + 4);
    const rows: Array<{ label: string }> = await t.db.dataSource.query(`SELECT label FROM grouped_projection WHERE label LIKE 'g%' OR label = 'bad' ORDER BY idx`);
    expect(rows.map((r) => r.label)).toEqual(['g0', 'g1', 'g3', 'g4']);
  });

  it('keeps ledger order across a plain projection between two runs of a group', async () => {
    const { group, calls } = recordingGroup();
    const log: string[][] = calls; // the group's calls and the plain projection's, as they ran
    const labels = ['o0', 'o1', 'o2', 'plain', 'o4'];
    const results = await Promise.all(
      labels.map((l) =>
        l !== 'plain'
          ? append(group, l)
          : t.service.append('grouped', [{ type: 'grouped.other', actor: l }], {
              projection: async (tx, [e]) => {
                log.push([l]);
                await tx.query(`INSERT INTO grouped_projection VALUES ($1, $2)`, [e!.index, l]);
              },
            }),
      ),
    );
    const inLedgerOrder = labels.map((l, i) => [results[i]![0]!.index, l] as const).sort((a, b) => a[0] - b[0]).map(([, l]) => l);
    expect(log.flat()).toEqual(inLedgerOrder);
    // o1 and o2 shared a call; the plain projection split the group's run, so o4 had a call of its own.
    expect(log).toContainEqual(['o1', 'o2']);
    expect(log.at(-1)).toEqual(['o4']);
    const rows: Array<{ label: string }> = await t.db.dataSource.query(
      `SELECT label FROM grouped_projection WHERE label LIKE 'o%' OR label = 'plain' ORDER BY idx`,
    );
    expect(rows.map((r) => r.label)).toEqual(inLedgerOrder);
  });

  it("gives each group only its own requests when two groups' runs meet in one commit", async () => {
    const a = recordingGroup();
    const b = recordingGroup();
    await Promise.all([append(a.group, 'a0'), append(a.group, 'a1'), append(b.group, 'b0'), append(b.group, 'b1')]);
    expect(a.calls.flat()).toEqual(['a0', 'a1']);
    expect(b.calls.flat()).toEqual(['b0', 'b1']);
  });

  it('runs no projection for a retry that writes nothing', async () => {
    const { group, calls } = recordingGroup();
    const keyed = (label: string) =>
      t.service.append('grouped', [{ type: 'grouped.keyed', actor: 'k', idempotencyKey: 'projected-once' }], { projection: { group, context: label } });
    const [first] = await keyed('first');
    const [retry] = await keyed('retry');
    expect(retry!.id).toBe(first!.id);
    expect(calls).toEqual([['first']]);
  });
});
