import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendInOrder } from '../../src/ledger/in-order.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
  await db.dataSource.query(`CREATE TABLE in_order_probe (n int PRIMARY KEY, at bigint NOT NULL)`);
});
afterAll(async () => db?.destroy());

const insert = (tx: { query(sql: string, p: unknown[]): Promise<unknown> }, n: number) => () =>
  tx.query(`INSERT INTO in_order_probe (n, at) VALUES ($1, nextval('in_order_seq'))`, [n]);

describe('statements sent in order on one connection', () => {
  it('run in the order sent', async () => {
    await db.dataSource.query(`CREATE SEQUENCE in_order_seq`);
    await db.dataSource.transaction(async (tx) => {
      await sendInOrder([3, 1, 4, 2].map((n) => insert(tx, n)));
    });
    const rows = await db.dataSource.query(`SELECT n FROM in_order_probe ORDER BY at`);
    expect(rows.map((r: { n: number }) => r.n)).toEqual([3, 1, 4, 2]);
  });

  it("throw the first failure's own error, not the aborted transaction the ones after it report, and leave nothing", async () => {
    const error = await db.dataSource
      .transaction(async (tx) => {
        await sendInOrder([insert(tx, 10), insert(tx, 1), insert(tx, 11), insert(tx, 12)]);
      })
      .catch((e: unknown) => e as { code?: string; driverError?: { code?: string } });
    // 23505: the duplicate key of the second statement; the two after it failed with 25P02.
    expect(error?.driverError?.code ?? error?.code).toBe('23505');
    expect(await db.dataSource.query(`SELECT n FROM in_order_probe WHERE n >= 10`)).toEqual([]);
  });

  it('throw what a statement throws on its own, after every statement has settled', async () => {
    let settled = 0;
    const late = () => new Promise<void>((resolve) => setTimeout(() => resolve(void settled++), 20));
    await expect(sendInOrder([() => Promise.reject(new Error('first')), late, () => Promise.reject(new Error('third'))])).rejects.toThrow('first');
    expect(settled).toBe(1);
  });
});
