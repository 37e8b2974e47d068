import pino from 'pino';
import type { DataSource, QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { usingPostgres } from '../support/db.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { expectOneChain as oneChain } from '../support/chain.js';

/**
 * Appends that need nothing but the head are sequenced before their transaction, from the head
 * this process's last commit left, and written by one statement that locks the head row only if
 * it is still that head. Anything else moved it: nothing is written, and the batch is sequenced
 * again from the head the lock finds.
 */
let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

/** The statements `ds`'s transactions send while `fn` runs, whitespace folded. */
async function statementsOf(ds: DataSource, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const create = ds.createQueryRunner.bind(ds);
  ds.createQueryRunner = (...args: Parameters<typeof create>): QueryRunner => {
    const runner = create(...args);
    const query = runner.query.bind(runner) as (...a: unknown[]) => Promise<unknown>;
    runner.query = ((sql: string, ...rest: unknown[]) => {
      seen.push(sql.trim().replace(/\s+/g, ' '));
      return query(sql, ...rest);
    }) as QueryRunner['query'];
    return runner;
  };
  try {
    await fn();
  } finally {
    ds.createQueryRunner = create;
  }
  return seen;
}

const readsHead = (sql: string) => sql.startsWith('SELECT tree_size') && sql.endsWith('FOR UPDATE');
const guardedWrite = (sql: string) => sql.startsWith('WITH head AS (SELECT 1 FROM ledger_heads');

const expectOneChain = (ledger: string) => oneChain(t, ledger);

describe('appends sequenced from the last commit', () => {
  it('write a lone append in one guarded statement, without reading the head first', async () => {
    await t.service.createLedger('lone', {});
    await t.service.append('lone', [{ type: 'lone.first', actor: 'a' }]);
    for (const asServer of [false, true]) {
      const sent = await statementsOf(t.db.dataSource, () => t.service.append('lone', [{ type: 'lone.next', actor: 'a' }], { asServer }));
      expect(sent.filter(readsHead)).toEqual([]);
      expect(sent.filter(guardedWrite)).toHaveLength(1);
    }
    // Not for an append whose sequencing must look something up under the lock.
    const keyed = await statementsOf(t.db.dataSource, () => t.service.append('lone', [{ type: 'lone.keyed', actor: 'a', idempotencyKey: 'k1' }]));
    expect(keyed.filter(readsHead)).toHaveLength(1);
    expect(keyed.filter(guardedWrite)).toEqual([]);
    expect((await expectOneChain('lone')).map((e) => e.actor)).toEqual(['a', 'a', 'a', 'a']);
  });

  it.skipIf(!usingPostgres())('write nothing from a head another process moved, and sequence again from the head they find', async () => {
    await t.service.createLedger('moved', {});
    // Another server process: its own sequencer, the same database.
    const other = new LedgerService(t.db.dataSource, t.config, t.service.serverKey, pino({ level: 'silent' }), { produceBlocks: false });
    await t.service.append('moved', [{ type: 'moved.x', actor: 'x1' }]);
    const [y] = await other.append('moved', [{ type: 'moved.y', actor: 'y' }]);

    let x2;
    const retried = await statementsOf(t.db.dataSource, async () => ([x2] = await t.service.append('moved', [{ type: 'moved.x', actor: 'x2' }])));
    expect(retried.filter(guardedWrite)).toHaveLength(1); // tried from x1's head, wrote nothing
    expect(retried.filter(readsHead)).toHaveLength(1); // then locked and read the head as y left it
    expect(x2!.parents).toEqual([y!.id]);
    expect(x2!.index).toBe(2);

    // Having found the head moved, the next append reads it under the lock first; the one after, with no one else appending, does not.
    const next = await statementsOf(t.db.dataSource, () => t.service.append('moved', [{ type: 'moved.x', actor: 'x3' }]));
    expect(next.filter(guardedWrite)).toEqual([]);
    const after = await statementsOf(t.db.dataSource, () => t.service.append('moved', [{ type: 'moved.x', actor: 'x4' }]));
    expect(after.filter(readsHead)).toEqual([]);
    expect(after.filter(guardedWrite)).toHaveLength(1);

    expect((await expectOneChain('moved')).map((e) => e.actor)).toEqual(['x1', 'y', 'x2', 'x3', 'x4']);
  });
});
