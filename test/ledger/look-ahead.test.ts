import { createPublicKey, verify } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChainproofError } from '../../src/errors.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { NO_METRICS } from '../../src/ledger/metrics.js';
import { usingPostgres } from '../support/db.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { expectOneChain as oneChain } from '../support/chain.js';

/**
 * While a transaction writes a large batch, the sequencer sequences the next one from the head
 * that transaction leaves. The work is used only if the next transaction finds exactly that head.
 */
let t: TestLedger;
const lookedAhead: string[] = [];
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false, metrics: { ...NO_METRICS, lookedAhead: (_ledger, outcome) => lookedAhead.push(outcome) } });
});
afterAll(async () => t?.close());
beforeEach(() => {
  lookedAhead.length = 0;
});

const events = (label: string, n = 600) => Array.from({ length: n }, (_, i) => ({ type: 'ahead.thing', actor: label, payload: { i } }));
const expectOneChain = (ledger: string) => oneChain(t, ledger);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A projection that holds its transaction open until `release` (after `then`, if given, throws).
 * `entered`: its transaction is open, so appends made now queue behind it rather than join its batch.
 */
function gate(then?: () => never) {
  let release!: () => void;
  let enter!: () => void;
  const opened = new Promise<void>((r) => (release = r));
  const entered = new Promise<void>((r) => (enter = r));
  return {
    release,
    entered,
    projection: async () => {
      enter();
      await opened;
      then?.();
    },
  };
}

/** Every event of `ledger` carries a signature by the server's key over its stored canonical bytes. */
async function expectServerSigned(ledger: string, count: number): Promise<void> {
  const { id } = await t.service.ledger(ledger);
  const rows: Array<{ canonical: Buffer; signature: Buffer | null }> = await t.db.dataSource.query(
    `SELECT canonical, signature FROM events WHERE ledger_id = $1 ORDER BY idx`,
    [id],
  );
  expect(rows).toHaveLength(count);
  const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, t.service.serverKey!.note.publicKey]), format: 'der', type: 'spki' });
  for (const r of rows) {
    expect(r.signature).not.toBeNull();
    expect(verify(null, Buffer.from(r.canonical), key, Buffer.from(r.signature!))).toBe(true);
  }
}
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

describe('sequencing ahead', () => {
  it('uses the next batch\'s work when the head is as the batch before left it', async () => {
    await t.service.createLedger('ahead-used', {});
    const held = gate();
    // Server-signed, so the signatures of these batches are made on the thread pool.
    const first = t.service.append('ahead-used', events('a'), { projection: held.projection, asServer: true });
    await held.entered;
    const rest = ['b', 'c', 'd'].map((l) => t.service.append('ahead-used', events(l), { asServer: true }));
    await sleep(200); // b, c and d queue behind a's open transaction and are sequenced meanwhile
    held.release();
    const results = await Promise.all([first, ...rest]);
    expect(lookedAhead).toContain('used');
    expect(lookedAhead).not.toContain('redone');
    const all = await expectOneChain('ahead-used');
    expect(all.map((e) => e.actor)).toEqual(['a', 'b', 'c', 'd'].flatMap((l) => Array(600).fill(l)));
    expect(results.flat().map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(results.flat().every((e) => e.author === t.service.serverKey!.did)).toBe(true);
    await expectServerSigned('ahead-used', all.length);
  });

  it('does the work again when the batch before rolled back', async () => {
    await t.service.createLedger('ahead-rolled-back', {});
    const before = (await t.service.append('ahead-rolled-back', [{ type: 'ahead.start', actor: 'x' }]))[0]!;
    const held = gate(() => {
      throw new ChainproofError('BAD_USER_INPUT', 'refused by its projection');
    });
    const refused = t.service.append('ahead-rolled-back', events('a'), { projection: held.projection });
    await held.entered;
    const next = t.service.append('ahead-rolled-back', events('b'));
    await sleep(200); // b is sequenced from the head a's transaction would leave
    held.release();
    await expect(refused).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const landed = await next;
    expect(lookedAhead).toEqual(['redone']);
    expect(landed[0]!.parents).toEqual([before.id]);
    const all = await expectOneChain('ahead-rolled-back');
    expect(all.map((e) => e.actor)).toEqual(['x', ...Array(600).fill('b')]);
  });

  it('leaves an append with an idempotency key to be looked up under the lock: a retry returns the first event', async () => {
    await t.service.createLedger('ahead-keyed', {});
    const [original] = await t.service.append('ahead-keyed', [{ type: 'ahead.keyed', actor: 'k', idempotencyKey: 'once' }]);
    const held = gate();
    const first = t.service.append('ahead-keyed', events('a'), { projection: held.projection });
    await held.entered;
    const next = t.service.append('ahead-keyed', events('b'));
    const retry = t.service.append('ahead-keyed', [{ type: 'ahead.keyed', actor: 'k', idempotencyKey: 'once' }]);
    await sleep(200);
    held.release();
    await Promise.all([first, next]);
    expect((await retry).map((e) => [e.index, e.id])).toEqual([[original!.index, original!.id]]);
    expect(lookedAhead).toEqual(['used']);
    const all = await expectOneChain('ahead-keyed');
    expect(all.map((e) => e.actor)).toEqual(['k', ...Array(600).fill('a'), ...Array(600).fill('b')]);
  });

  it('leaves an append naming parents to be looked up under the lock, though it queued behind a batch taken ahead', async () => {
    await t.service.createLedger('ahead-parents', {});
    const [old] = await t.service.append('ahead-parents', [{ type: 'ahead.old', actor: 'o' }]);
    const held = gate();
    const first = t.service.append('ahead-parents', events('a'), { projection: held.projection });
    await held.entered;
    // b is taken ahead at once; c and the branch queue behind it, to be taken ahead when b is written.
    const next = t.service.append('ahead-parents', events('b'));
    await sleep(50);
    const after = t.service.append('ahead-parents', events('c'));
    await sleep(50);
    // Its parent is no tip of the head the batches ahead of it start from: only the database knows it.
    const branch = t.service.append('ahead-parents', [{ type: 'ahead.branch', actor: 'p', parents: [old!.id] }]);
    await sleep(200);
    held.release();
    await Promise.all([first, next, after]);
    const [e] = await branch;
    expect(e).toMatchObject({ index: 1801, parents: [old!.id] });
    expect((await t.service.head('ahead-parents')).treeSize).toBe(1802);
    expect((await t.service.verify('ahead-parents', true)).status).toBe('VALID');
  });

  it('a batch used ahead that then rolls back: its good requests land alone, and the batch after it is redone', async () => {
    await t.service.createLedger('ahead-chained', {});
    const held = gate();
    const refusing = async () => {
      throw new ChainproofError('BAD_USER_INPUT', 'refused by its projection');
    };
    const first = t.service.append('ahead-chained', events('x'), { projection: held.projection });
    await held.entered;
    // 300 + 300: sequenced ahead together, as one batch, while x is written; then refused at bad's
    // projection, so retried request by request.
    const bad = t.service.append('ahead-chained', events('bad', 300), { projection: refusing });
    const good = t.service.append('ahead-chained', events('good', 300));
    await sleep(50);
    // Sequenced ahead from the head that batch would have left, once it found its head.
    const after = t.service.append('ahead-chained', events('after'));
    await sleep(150);
    held.release();
    const settled = await Promise.allSettled([first, bad, good, after]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(lookedAhead).toEqual(['used', 'redone']);
    const all = await expectOneChain('ahead-chained');
    expect(all.map((e) => e.actor)).toEqual([...Array(600).fill('x'), ...Array(300).fill('good'), ...Array(600).fill('after')]);
  });

  it.skipIf(!usingPostgres())('does the work again when another process appended in between', async () => {
    await t.service.createLedger('ahead-other', {});
    // Another server process: its own sequencer, the same database.
    const other = new LedgerService(t.db.dataSource, t.config, t.service.serverKey, pino({ level: 'silent' }), { produceBlocks: false });
    const held = gate();
    const first = t.service.append('ahead-other', events('a'), { projection: held.projection });
    await held.entered;
    const next = t.service.append('ahead-other', events('b'));
    await sleep(100);
    const between = other.append('ahead-other', [{ type: 'ahead.other', actor: 'other' }]);
    // Release a's transaction only once the other process waits for the head's row lock (in this
    // test's database: other test files wait on their own ledgers' heads on the same server).
    for (let i = 0; ; i++) {
      const [{ n }] = await t.db.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_heads%'`,
      );
      if (n > 0) break;
      if (i > 200) throw new Error('the other process never waited for the lock');
      await sleep(10);
    }
    held.release();
    const [, [x], landed] = await Promise.all([first, between, next]);
    expect(lookedAhead).toEqual(['redone']);
    expect(landed[0]!.parents).toEqual([x!.id]);
    const all = await expectOneChain('ahead-other');
    expect(all.map((e) => e.actor)).toEqual([...Array(600).fill('a'), 'other', ...Array(600).fill('b')]);
  });

  it('does not take small appends early: they wait to share one commit', async () => {
    await t.service.createLedger('ahead-small', {});
    const held = gate();
    const first = t.service.append('ahead-small', events('a', 10), { projection: held.projection });
    await held.entered;
    const rest = Array.from({ length: 20 }, (_, i) => t.service.append('ahead-small', events(`s${i}`, 10)));
    await sleep(100);
    held.release();
    await Promise.all([first, ...rest]);
    expect(lookedAhead).toEqual([]);
    await expectOneChain('ahead-small');
  });
});
