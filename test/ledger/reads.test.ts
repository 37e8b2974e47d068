import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events/event.js';
import { matchesFilter } from '../../src/ledger/event-filter.js';
import { MAX_LEAF_RANGE, type EventFilter } from '../../src/ledger/ledger-service.js';
import { encodeCursor, pageWindow, type Page, type PageArgs } from '../../src/ledger/pagination.js';
import { codeOf, thrownCodeOf } from '../support/codes.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

// Reads of the ledger service in process: pages, filters, and the sizes proofs are given at.

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

const cursor = (index: number, ledger: string) => encodeCursor('event', index, ledger);

describe('event pages', () => {
  beforeAll(async () => {
    await t.service.createLedger('paged', {});
    await t.service.append('paged', Array.from({ length: 5 }, (_, i) => ({ type: 't', actor: `a${i}` })));
  });

  /** The page's indexes and its two flags, as one value to compare. */
  const read = async (page: PageArgs) => {
    const p: Page<LedgerEvent> = await t.service.events('paged', {}, page);
    return { indexes: p.items.map((i) => i.node.index), next: p.hasNextPage, previous: p.hasPreviousPage };
  };

  it.each([
    [{ first: 2 }, { indexes: [0, 1], next: true, previous: false }],
    [{ first: 2, after: cursor(1, 'paged') }, { indexes: [2, 3], next: true, previous: true }],
    [{ first: 10, after: cursor(3, 'paged') }, { indexes: [4], next: false, previous: true }],
    // Exactly as many rows as asked for: there is no next page.
    [{ first: 5 }, { indexes: [0, 1, 2, 3, 4], next: false, previous: false }],
    [{ last: 2 }, { indexes: [3, 4], next: false, previous: true }],
    [{ last: 2, before: cursor(3, 'paged') }, { indexes: [1, 2], next: true, previous: true }],
    [{ last: 10, before: cursor(2, 'paged') }, { indexes: [0, 1], next: true, previous: false }],
    [{ first: 10, after: cursor(0, 'paged'), before: cursor(4, 'paged') }, { indexes: [1, 2, 3], next: false, previous: true }],
    // After the last event: nothing yet, which is not an error.
    [{ first: 10, after: cursor(4, 'paged') }, { indexes: [], next: false, previous: true }],
  ])('%j', async (page, expected) => {
    expect(await read(page)).toEqual(expected);
  });

  it('refuses first with last, and sizes outside 0..1000', async () => {
    expect(await codeOf(read({ first: 1, last: 1 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(read({ first: 1001 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(read({ last: -1 }))).toBe('BAD_USER_INPUT');
    expect((await read({ first: 1000 })).indexes).toHaveLength(5);
  });

  it('refuses an after cursor past the last event, which is no position of this ledger', async () => {
    expect(await codeOf(read({ first: 1, after: cursor(5, 'paged') }))).toBe('BAD_USER_INPUT');
  });

  it("refuses, as malformed, a cursor naming a ledger where the list's positions name none", () => {
    expect(thrownCodeOf(() => pageWindow('event', { after: cursor(1, 'paged') }))).toBe('BAD_USER_INPUT');
  });

  it('refuses a cursor spelled with a leading zero, though it names a position', async () => {
    const padded = Buffer.from(`event:01:${Buffer.from(cursor(1, 'paged'), 'base64url').toString().split(':')[2]}`).toString('base64url');
    expect(await codeOf(read({ first: 1, after: padded }))).toBe('BAD_USER_INPUT');
  });
});

describe('event filters', () => {
  const base = Date.now() - 5_000;
  const inputs = [
    { type: 'pay', actor: 'alice', resource: 'r1', subsystem: 'billing', result: 'ok', correlationId: 'c1' },
    { type: 'pay', actor: 'bob', author: 'did:web:example.org', resource: 'r2', subsystem: 'billing', result: 'failed', correlationId: 'c2' },
    { type: 'login', actor: 'alice', resource: 'r2', subsystem: 'auth', result: 'ok', correlationId: 'c1' },
    { type: 'logout', actor: 'carol', author: 'did:web:example.org' },
  ].map((e, i) => ({ ...e, hlc: { physicalMs: base + i * 1000, logical: 0 } }));
  let all: LedgerEvent[];
  beforeAll(async () => {
    await t.service.createLedger('filtered', {});
    all = await t.service.append('filtered', inputs);
  });

  // Each filter as the database applies it (events) and as live subscriptions do (matchesFilter).
  it.each<[EventFilter, string[]]>([
    [{}, ['pay/alice', 'pay/bob', 'login/alice', 'logout/carol']],
    [{ types: [] }, ['pay/alice', 'pay/bob', 'login/alice', 'logout/carol']],
    [{ types: ['pay', 'logout'] }, ['pay/alice', 'pay/bob', 'logout/carol']],
    [{ actor: 'alice' }, ['pay/alice', 'login/alice']],
    [{ author: 'did:web:example.org' }, ['pay/bob', 'logout/carol']],
    [{ resource: 'r2' }, ['pay/bob', 'login/alice']],
    [{ subsystem: 'billing' }, ['pay/alice', 'pay/bob']],
    [{ result: 'ok' }, ['pay/alice', 'login/alice']],
    [{ correlationId: 'c1' }, ['pay/alice', 'login/alice']],
    [{ types: ['pay'], result: 'ok' }, ['pay/alice']],
    // Both time bounds are inclusive.
    [{ fromMs: base + 1000 }, ['pay/bob', 'login/alice', 'logout/carol']],
    [{ toMs: base + 2000 }, ['pay/alice', 'pay/bob', 'login/alice']],
    [{ fromMs: base + 1000, toMs: base + 1000 }, ['pay/bob']],
  ])('%j', async (filter, expected) => {
    const label = (e: LedgerEvent) => `${e.type}/${e.actor}`;
    const page = await t.service.events('filtered', filter, { first: 10 });
    expect(page.items.map((i) => label(i.node))).toEqual(expected);
    expect(all.filter((e) => matchesFilter(e, filter)).map(label)).toEqual(expected);
  });
});

describe('blocks, checkpoints and proofs', () => {
  let checkpoints: Array<{ id: number; treeSize: number }>;
  beforeAll(async () => {
    await t.service.createLedger('sealed', { blockSize: 1000, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('sealed', [{ type: 't', actor: 'a' }, { type: 't', actor: 'b' }]);
    checkpoints = [await t.service.createCheckpoint('sealed')];
    await t.service.append('sealed', [{ type: 't', actor: 'c' }]);
    checkpoints.push(await t.service.createCheckpoint('sealed'));
    await t.service.append('sealed', [{ type: 't', actor: 'd' }]);
  });

  it('page blocks and checkpoints after a cursor from the one after it', async () => {
    const blocks = await t.service.blocks('sealed', { first: 10, after: encodeCursor('block', 0, 'sealed') });
    expect(blocks.items.map((i) => i.node.height)).toEqual([1]);
    const after = encodeCursor('checkpoint', checkpoints[0]!.id, 'sealed');
    expect((await t.service.checkpoints('sealed', { first: 10, after })).items.map((i) => i.node.id)).toEqual([checkpoints[1]!.id]);
  });

  it('name the block of a sealed event, and none for a pending one', async () => {
    expect(await Promise.all([0, 1, 2, 3].map((i) => t.service.blockHeightOf('sealed', i)))).toEqual([0, 0, 1, null]);
  });

  it('prove inclusion in the latest checkpoint that covers the event, else in the current tree', async () => {
    // The latest checkpoint is at 3: it covers index 2, not index 3 (pending at size 4).
    expect(await t.service.inclusionProof('sealed', { index: 2 })).toMatchObject({ treeSize: 3, checkpoint: { treeSize: 3 } });
    expect(await t.service.inclusionProof('sealed', { index: 3 })).toMatchObject({ treeSize: 4, checkpoint: null });
  });

  it('sign no checkpoint for a peer when the latest already covers the newest block', async () => {
    expect((await t.service.syncCheckpoint('sealed'))!.id).toBe(checkpoints[1]!.id);
  });

  it('refuse proofs and leaf ranges past the current tree', async () => {
    expect(await codeOf(t.service.inclusionProof('sealed', { index: 0 }, 5))).toBe('PROOF_OUT_OF_RANGE');
    expect(await codeOf(t.service.consistencyProof('sealed', 1, 5))).toBe('PROOF_OUT_OF_RANGE');
    expect(await codeOf(t.service.leafRange('sealed', 0, 1, 5))).toBe('PROOF_OUT_OF_RANGE');
    expect((await t.service.leafRange('sealed', 0, 4, 4)).leaves).toHaveLength(4);
  });

  it('give the latest of two checkpoints at one tree size', async () => {
    const first = await t.service.createCheckpoint('sealed');
    const second = await t.service.createCheckpoint('sealed');
    expect(second.treeSize).toBe(first.treeSize);
    expect((await t.service.checkpoint('sealed', first.treeSize))!.id).toBe(second.id);
  });
});

describe('limits', () => {
  it(`give at most ${MAX_LEAF_RANGE} leaves a call`, async () => {
    await t.service.createLedger('wide-range', {});
    for (let i = 0; i < 3; i++) await t.service.append('wide-range', Array.from({ length: 667 }, (_, k) => ({ type: 't', actor: `a${i}-${k}` })));
    expect((await t.service.leafRange('wide-range', 0, MAX_LEAF_RANGE, 2001)).leaves).toHaveLength(MAX_LEAF_RANGE);
    expect(await codeOf(t.service.leafRange('wide-range', 0, MAX_LEAF_RANGE + 1, 2001))).toBe('BATCH_TOO_LARGE');
  });

  it('call mining behind only past twice a block of pending events', async () => {
    await t.service.createLedger('behind', { blockSize: 2 });
    await t.service.append('behind', Array.from({ length: 4 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    expect((await t.service.stats('behind')).status).toBe('OK');
    await t.service.append('behind', [{ type: 't', actor: 'a4' }]);
    expect((await t.service.stats('behind')).status).toBe('MINING_BEHIND');
  });
});
