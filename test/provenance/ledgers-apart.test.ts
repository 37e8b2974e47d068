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
