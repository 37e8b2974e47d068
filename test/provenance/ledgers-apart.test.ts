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

  it('refuse a query audit citing an assertion recorded only in the other ledger, though this process saw it committed, writing nothing', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://cited-apart', contentHash: sha('cited-apart') }, 'curator');
    const a = await t.prov.recordAssertion('main', claim(src.contentHash, { subject: 'apart/cited' }), 'curator');
    // Cited once in its own ledger: known to be committed there.
    await t.prov.recordQuery('main', { agentId: 'apart-agent', subject: 's', predicate: 'p', result: 1, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }] }, 'agent');
    await t.service.append('other', Array.from({ length: a.eventIndex + 1 }, (_, i) => ({ type: 'filler', actor: 'a', payload: { i } })));
    const size = (await t.service.head('other')).treeSize;
    const refused = t.prov.recordQuery('other', { agentId: 'apart-agent', subject: 's', predicate: 'p', result: 1, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }] }, 'agent');
    await expect(refused).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: `unknown assertion ${a.hash} in contributingAssertions` });
    expect((await t.service.head('other')).treeSize).toBe(size);
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

  it("show a chain's checkpoint and a past line's proof from their own ledger, though the other ledger signed a larger one", async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://checkpoint-apart', contentHash: sha('checkpoint-apart') }, 'curator');
    const a = await t.prov.recordAssertion('main', claim(src.contentHash, { subject: 'apart/checkpoint' }), 'curator');
    await t.prov.recordQuery('main', { agentId: 'checkpoint-agent', subject: 's', predicate: 'p', result: 1, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }] }, 'agent');
    const mine = await t.service.createCheckpoint('main');
    await t.service.createLedger('checkpoint-larger', {});
    await t.service.append('checkpoint-larger', Array.from({ length: mine.treeSize + 5 }, (_, i) => ({ type: 'filler', actor: 'a', payload: { i } })));
    const theirs = await t.service.createCheckpoint('checkpoint-larger');
    expect(theirs.treeSize).toBeGreaterThan(mine.treeSize);
    const now = await t.prov.provenance('main', a.hash);
    expect(now.checkpoint?.id).toBe(mine.id);
    // The larger ledger has an event at the same leaf index: the link's event is this ledger's.
    expect(now.links[0]!.event.id).toBe(a.eventId);
    expect((await t.prov.provenance('main', a.hash, { treeSize: mine.treeSize })).checkpoint?.id).toBe(mine.id);
    const { lines } = await t.prov.trace('main', { agent: 'checkpoint-agent', sinceMs: 0 }, { treeSize: mine.treeSize });
    const proof = await t.prov.lineProofs('main', lines[0]!.readBound).proof(lines[0]!.eventIndex);
    expect({ checkpoint: proof.checkpoint?.id, treeSize: proof.treeSize }).toEqual({ checkpoint: mine.id, treeSize: mine.treeSize });
  });

  it('list and trace only their own ledger\'s query audits', async () => {
    const q = await t.prov.recordQuery('other', { agentId: 'listed-apart', subject: 'apart/listed', predicate: 'p', result: 1, contributingAssertions: [] }, 'agent');
    expect((await t.prov.queryAudits('other', { agent: 'listed-apart' }, {})).items.map((i) => i.node.queryId)).toEqual([q.queryId]);
    expect((await t.prov.queryAudits('main', { agent: 'listed-apart' }, {})).items).toEqual([]);
    expect((await t.prov.queryAudits('main', { queryId: q.queryId }, {})).items).toEqual([]);
    expect((await t.prov.trace('main', { agent: 'listed-apart', sinceMs: 0 })).lines).toEqual([]);
  });

  it('read as of a block height by their own ledger\'s block of that height', async () => {
    const filler = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'filler', actor: 'a', payload: { i } }));
    // Another ledger's block 0, made first, over more leaves than this ledger's block 0.
    await t.service.createLedger('height-other', {});
    await t.service.append('height-other', filler(10));
    await t.service.createCheckpoint('height-other');
    await t.service.createLedger('height-read', {});
    const src = sha('height');
    await t.prov.recordSource('height-read', { locator: 'git://height', contentHash: src }, 'curator');
    const a = await t.prov.recordAssertion('height-read', claim(src, { subject: 'apart/height' }), 'curator');
    const first = await t.service.createCheckpoint('height-read');
    const b = await t.prov.recordAssertion('height-read', claim(src, { subject: 'apart/height', value: 2, supersedes: a.hash }), 'curator');
    await t.service.createCheckpoint('height-read');
    expect(first.treeSize).toBe(a.eventIndex + 1);
    const then = await t.prov.provenance('height-read', a.hash, { blockHeight: first.blockHeight });
    expect(then.assertion.supersededBy).toBeNull();
    expect(await codeOf(t.prov.provenance('height-read', b.hash, { blockHeight: first.blockHeight }))).toBe('NOT_FOUND');
  });

  it('read as of a time by their own ledger\'s leaves, though another ledger appended at the same indexes later', async () => {
    await t.service.createLedger('time-read', {});
    const src = sha('time');
    await t.prov.recordSource('time-read', { locator: 'git://time', contentHash: src }, 'curator');
    const a = await t.prov.recordAssertion('time-read', claim(src, { subject: 'apart/time' }), 'curator');
    while (Date.now() <= a.time.getTime()) await new Promise((r) => setTimeout(r, 1));
    const at = Date.now();
    while (Date.now() <= at) await new Promise((r) => setTimeout(r, 1));
    await t.service.createLedger('time-later', {});
    await t.service.append('time-later', Array.from({ length: a.eventIndex + 5 }, (_, i) => ({ type: 'filler', actor: 'a', payload: { i } })));
    expect((await t.prov.provenance('time-read', a.hash, { timeMs: at })).assertion.hash).toBe(a.hash);
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
