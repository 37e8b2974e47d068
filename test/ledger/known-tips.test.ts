import pino from 'pino';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitIds, type LedgerEvent } from '../../src/ledger/events/event.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { expectValid } from '../verify/support.js';

/**
 * A transaction that finds the head exactly as this process's last commit left it takes the tips'
 * events from that commit instead of reading them again. Another writer in between must make it
 * read them: the events stay one chain.
 */
let t: TestLedger;
/** A second sequencer on the same database, as a second server process would have. */
let other: LedgerService;
const statements: string[] = [];

beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  other = new LedgerService(t.db.dataSource, t.config, t.service.serverKey, pino({ level: 'silent' }), { produceBlocks: false });
  await other.start([]);
  const create = t.db.dataSource.createQueryRunner.bind(t.db.dataSource);
  t.db.dataSource.createQueryRunner = (...args: Parameters<typeof create>): QueryRunner => {
    const runner = create(...args);
    const query = runner.query.bind(runner);
    runner.query = ((sql: string, ...rest: unknown[]) => {
      statements.push(sql.trim());
      return (query as (...a: unknown[]) => Promise<unknown>)(sql, ...rest);
    }) as QueryRunner['query'];
    return runner;
  };
});
afterAll(async () => {
  await other?.stop();
  await t?.close();
});

const lookUps = () => statements.filter((s) => s.startsWith('SELECT') && s.includes('FROM events WHERE ledger_id = $1 AND id IN')).length;

describe('the tips a commit leaves', () => {
  it('a lone append after this process\'s own commit reads no events', async () => {
    await t.service.createLedger('tips-own', {});
    await t.service.append('tips-own', [{ type: 'first', actor: 'a' }]);
    statements.length = 0;
    const appended: LedgerEvent[] = [];
    for (let i = 0; i < 5; i++) appended.push((await t.service.append('tips-own', [{ type: 'next', actor: 'a', payload: { i } }]))[0]!);
    expect(lookUps()).toBe(0);
    for (let i = 1; i < appended.length; i++) expect(appended[i]!.parents).toEqual([appended[i - 1]!.id]);
    expectValid(await t.service.verify('tips-own', true));
  });

  it('reads them again once another writer has moved the head, so appends alternating between two writers stay one chain', async () => {
    await t.service.createLedger('tips-shared', {});
    const writers = [t.service, other];
    const appended: LedgerEvent[] = [];
    statements.length = 0;
    for (let i = 0; i < 10; i++) appended.push((await writers[i % 2]!.append('tips-shared', [{ type: 'turn', actor: `w${i % 2}`, payload: { i } }]))[0]!);
    expect(lookUps()).toBeGreaterThanOrEqual(8);
    const { id } = await t.service.ledger('tips-shared');
    const rows: Array<{ id: Buffer; parents: Buffer }> = await t.db.dataSource.query(`SELECT id, parents FROM events WHERE ledger_id = $1 ORDER BY idx`, [id]);
    expect(rows.map((r) => Buffer.from(r.id).toString('hex'))).toEqual(appended.map((e) => e.id));
    rows.forEach((r, i) => expect(splitIds(Buffer.from(r.parents))).toEqual(i === 0 ? [] : [appended[i - 1]!.id]));
    expect((await t.service.head('tips-shared')).tips).toBe(1);
    expectValid(await t.service.verify('tips-shared', true));
  });
});
