import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify/index.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { buildLedger, expectValid, tamper, type BuiltLedger } from './support.js';

describe('verifyLedger on an untouched ledger', () => {
  let t: TestLedger;
  let built: BuiltLedger;

  beforeAll(async () => {
    t = await openTestLedger();
    built = await buildLedger(t.service, 'intact');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('builds the ledger the tamper tests start from', async () => {
    const [counts] = await t.db.dataSource.query(
      `SELECT (SELECT count(*) FROM events WHERE ledger_id = $1)::int AS events,
              (SELECT count(*) FROM blocks WHERE ledger_id = $1)::int AS blocks,
              (SELECT count(*) FROM checkpoints WHERE ledger_id = $1)::int AS checkpoints,
              (SELECT count(*) FROM events WHERE ledger_id = $1 AND signature IS NOT NULL)::int AS signed`,
      [built.ledger.id],
    );
    expect(counts.events).toBeGreaterThanOrEqual(90);
    expect(counts.blocks).toBeGreaterThanOrEqual(8);
    expect(counts.checkpoints).toBeGreaterThanOrEqual(3);
    expect(counts.signed).toBe(built.signed.length);
    expect(built.explicit.length).toBeGreaterThanOrEqual(3);
    expect((await t.service.head('intact')).tips).toBeGreaterThan(1);
  });

  it('full verification is VALID and covers everything', async () => {
    const progress: Array<[number, number]> = [];
    const report = await verifyLedger(t.db.dataSource, built.ledger, {
      full: true,
      verifierKeys: [t.service.verifierKey()!],
      onProgress: (done, total) => progress.push([done, total]),
    });
    expectValid(report);
    const [c] = await t.db.dataSource.query(
      `SELECT (SELECT count(*) FROM blocks WHERE ledger_id = $1)::int AS blocks,
              (SELECT count(*) FROM checkpoints WHERE ledger_id = $1)::int AS checkpoints`,
      [built.ledger.id],
    );
    expect(report).toMatchObject({
      ledger: 'intact',
      mode: 'FULL',
      treeSize: built.events.length,
      eventsVerified: built.events.length,
      blocksVerified: c.blocks,
      checkpointsVerified: c.checkpoints,
    });
    expect(progress.at(-1)).toEqual([built.events.length, built.events.length]);
  });

  it('quick verification is VALID', async () => {
    const report = await t.service.verify('intact', false);
    expectValid(report);
    expect(report).toMatchObject({ mode: 'QUICK', treeSize: built.events.length, blocksVerified: 1 });
    expect(report.checkpointsVerified).toBeGreaterThanOrEqual(2);
    expect(report.eventsVerified).toBe(Math.min(100, built.events.length));
  });

  it('gives the same verdict with tiny pages (every page boundary, block and checkpoint straddling them)', async () => {
    for (const pageSize of [1, 3, 7, 16, 33]) {
      expectValid(await verifyLedger(t.db.dataSource, built.ledger, { full: true, verifierKeys: [t.service.verifierKey()!], pageSize }));
    }
  });

  it('verifies a BLAKE3 ledger, blocks of odd sizes and an empty ledger', async () => {
    const blake = await buildLedger(t.service, 'blake', { hashAlg: 'blake3', blockSize: 5 });
    expectValid(await t.service.verify('blake', true));
    expectValid(await t.service.verify('blake', false));
    expect(blake.ledger.hashAlg).toBe('blake3');
    // Its checkpoints name the hash, so an offline verifier knows how to check them.
    const cp = (await t.service.checkpoint('blake'))!;
    expect(cp.note).toMatch(/\nhash blake3\n\n/);
    // Blocks starting at every kind of offset (events roots reuse the tree's aligned subtrees).
    await buildLedger(t.service, 'odd', { blockSize: 13 });
    expect((await t.service.checkpoint('odd'))!.note).not.toMatch(/\nhash /);
    for (const pageSize of [7, 10_000]) {
      expectValid(await verifyLedger(t.db.dataSource, await t.service.ledger('odd'), { full: true, pageSize }));
    }
    await t.service.createLedger('empty', {});
    for (const full of [true, false]) {
      const report = await t.service.verify('empty', full);
      expectValid(report);
      expect(report.treeSize).toBe(0);
    }
  });

  it('sees one consistent snapshot while appends and blocks keep coming', async () => {
    const busy = await buildLedger(t.service, 'busy');
    let appending = true;
    const writer = (async () => {
      for (let i = 0; appending && i < 200; i++) {
        await t.service.append('busy', [{ type: 'Concurrent', actor: `user:${i}`, payload: { i } }, { type: 'Concurrent', actor: 'user:x' }]);
      }
    })();
    try {
      for (let round = 0; round < 4; round++) {
        for (const full of [true, false]) {
          const report = await verifyLedger(t.db.dataSource, busy.ledger, { full, verifierKeys: [t.service.verifierKey()!], pageSize: 16 });
          expectValid(report);
        }
      }
    } finally {
      appending = false;
      await writer;
    }
    expect((await t.service.head('busy')).treeSize).toBeGreaterThan(busy.events.length);
  });

  it('refuses a malformed verifier key instead of blaming the ledger', async () => {
    await expect(verifyLedger(t.db.dataSource, built.ledger, { full: false, verifierKeys: ['nope'] })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });

  it('stops after maxIssues', async () => {
    const victim = await buildLedger(t.service, 'capped');
    await tamper(t.db.dataSource, [`UPDATE events SET type = 'Forged' WHERE ledger_id = $1`, [victim.ledger.id]]);
    const report = await verifyLedger(t.db.dataSource, victim.ledger, { full: true, maxIssues: 5 });
    expect(report.status).toBe('INVALID');
    expect(report.issues).toHaveLength(5);
    expect(report.issues.map((i) => [i.kind, i.index])).toEqual([0, 1, 2, 3, 4].map((i) => ['EVENT_FIELD_MISMATCH', i]));
    expect(report.issues[0]!.message).toContain('type');
    const all = await verifyLedger(t.db.dataSource, victim.ledger, { full: true, maxIssues: 1000 });
    expect(all.issues).toHaveLength(victim.events.length);
  });
});
