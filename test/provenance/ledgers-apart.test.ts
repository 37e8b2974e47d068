import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
  await t.service.createLedger('other', {});
});
afterAll(async () => t?.close());

const claim = (sourceHash: string, over: Record<string, unknown> = {}) =>
  ({ subject: 'apart/x', predicate: 'v', value: 1, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash, ...over });

describe('provenance records of two ledgers', () => {
  it('refuse a source or predecessor recorded only in the other ledger, writing nothing', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://main-only', contentHash: sha('main-only') }, 'curator');
    const a = await t.prov.recordAssertion('main', claim(src.contentHash), 'curator');
    // Past both records' leaves in this ledger: only the ledger, not the leaf order, keeps them out.
    await t.service.append('other', Array.from({ length: a.eventIndex + 1 }, (_, i) => ({ type: 'filler', actor: 'a', payload: { i } })));
    const size = (await t.service.head('other')).treeSize;
    expect(await codeOf(t.prov.recordAssertion('other', claim(src.contentHash), 'curator'))).toBe('BAD_USER_INPUT');
    // Its source is in this ledger now, but the assertion it supersedes is still only in the other.
    await t.prov.recordSource('other', { locator: 'git://main-only', contentHash: src.contentHash }, 'curator');
    expect(await codeOf(t.prov.recordAssertion('other', claim(src.contentHash, { value: 2, supersedes: a.hash }), 'curator'))).toBe('BAD_USER_INPUT');
    expect((await t.service.head('other')).treeSize).toBe(size + 1);
  });

  it("show no successor recorded in the other ledger, though the assertion is the same", async () => {
    const src = sha('both');
    for (const ledger of ['main', 'other']) await t.prov.recordSource(ledger, { locator: 'git://both', contentHash: src }, 'curator');
    const [inMain, inOther] = await Promise.all(['main', 'other'].map((l) => t.prov.recordAssertion(l, claim(src, { subject: 'apart/same' }), 'curator')));
    expect(inMain!.hash).toBe(inOther!.hash);
    const next = await t.prov.recordAssertion('other', claim(src, { subject: 'apart/same', value: 2, supersedes: inOther!.hash }), 'curator');
    expect((await t.prov.provenance('other', inOther!.hash)).assertion.supersededBy).toBe(next.hash);
    expect((await t.prov.provenance('main', inMain!.hash)).assertion.supersededBy).toBeNull();
    expect(await t.prov.successorReader()({ hash: inMain!.hash, successorScope: { ledgerId: (await t.service.ledger('main')).id, bound: Number.MAX_SAFE_INTEGER } })).toBeNull();
  });

  it('follow a chain of supersessions within the ledger read, though the other ledger holds the same chain', async () => {
    const src = sha('chain-both');
    const chains: string[][] = [];
    for (const ledger of ['main', 'other']) {
      await t.prov.recordSource(ledger, { locator: 'git://chain-both', contentHash: src }, 'curator');
      const first = await t.prov.recordAssertion(ledger, claim(src, { subject: 'apart/chain' }), 'curator');
      const second = await t.prov.recordAssertion(ledger, claim(src, { subject: 'apart/chain', value: 2, supersedes: first.hash }), 'curator');
      chains.push([second.hash, first.hash]);
    }
    expect(chains[0]).toEqual(chains[1]);
    const chain = await t.prov.provenance('main', chains[0]![0]!);
    expect(chain.links.map((l) => ({ depth: l.depth, hash: l.assertion.hash }))).toEqual(chains[0]!.map((hash, depth) => ({ depth, hash })));
  });

  it("place a chain link's event in its own ledger's block, though another ledger's block spans the same leaf index", async () => {
    const filler = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'filler', actor: 'a', payload: { i } }));
    for (const l of ['blocks-left', 'blocks-right']) await t.service.createLedger(l, {});
    const src = sha('blocks');
    await t.prov.recordSource('blocks-left', { locator: 'git://blocks', contentHash: src }, 'curator');
    await t.service.append('blocks-left', filler(4));
    const a = await t.prov.recordAssertion('blocks-left', claim(src, { subject: 'apart/blocks' }), 'curator');
    await t.service.append('blocks-left', filler(4));
    await t.service.createCheckpoint('blocks-left');
    // The other ledger's second block starts at or before the assertion's index and ends right after it, well before this ledger's block does.
    await t.service.append('blocks-right', filler(1));
    const first = await t.service.createCheckpoint('blocks-right');
    await t.service.append('blocks-right', filler(a.eventIndex + 1 - first.treeSize));
    const second = await t.service.createCheckpoint('blocks-right');
    expect(first.treeSize <= a.eventIndex && second.treeSize === a.eventIndex + 1).toBe(true);
    const height = await t.service.blockHeightOf('blocks-left', a.eventIndex);
    expect(height).not.toBe(second.blockHeight);
    const [link] = (await t.prov.provenance('blocks-left', a.hash)).links;
    expect(link!.block?.height).toBe(height);
    expect(link!.block!.startIndex <= a.eventIndex && a.eventIndex < link!.block!.treeSize).toBe(true);
  });

  it('order their query audits in time each on its own', async () => {
    // A client's event stamped ahead moves the other ledger's clock, and its next audit's time, ahead of this one's.
    await t.service.append('other', [{ type: 'ahead', actor: 'client', parents: [], hlc: { physicalMs: Date.now() + 20_000, logical: 0 } }]);
    const ahead = await t.prov.recordQuery('other', { agentId: 'apart-agent', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] }, 'agent');
    await t.service.createLedger('third', {});
    await t.service.append('third', Array.from({ length: ahead.eventIndex + 1 }, (_, i) => ({ type: 'filler', actor: 'a', payload: { i } })));
    const later = await t.prov.recordQuery('third', { agentId: 'apart-agent', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] }, 'agent');
    expect(later.eventIndex).toBeGreaterThan(ahead.eventIndex);
    expect(later.time.getTime()).toBeLessThan(ahead.time.getTime());
  });
});
