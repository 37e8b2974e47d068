import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertionHashOf } from '../../src/provenance/hashing.js';
import { openTestProvenance, sha, type TestProvenance } from './support.js';

/**
 * Recordings that arrive together share a commit and are projected by one call (a statement
 * per kind for all of them). Each must still be decided as if recorded alone, in ledger order.
 */
let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
});
afterAll(async () => t?.close());

const outcome = (s: PromiseSettledResult<unknown>) => (s.status === 'fulfilled' ? 'ok' : (s.reason as { code?: string }).code);

describe('recordings projected together', () => {
  it('land together; one citing an unknown assertion fails alone', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://g', contentHash: sha('g') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'g/x', predicate: 'value', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    const query = (queryId: string, assertionHash: string) =>
      t.prov.recordQuery('main', { queryId, agentId: 'grouped', subject: 'g/x', predicate: 'value', result: 1, contributingAssertions: [{ assertionHash, weight: 1 }] }, 'grouped');
    const settled = await Promise.allSettled([
      t.prov.recordSources('main', [{ locator: 'git://flush', contentHash: sha('flush') }], 'curator'), // commits alone
      query('g1', a.hash),
      query('g2', sha('never recorded')),
      query('g3', a.hash),
    ]);
    expect(settled.map(outcome)).toEqual(['ok', 'ok', 'BAD_USER_INPUT', 'ok']);
    expect((settled[2] as PromiseRejectedResult).reason.message).toContain(sha('never recorded'));
    const audits = await t.prov.queryAudits('main', { agent: 'grouped' }, {});
    expect(audits.items.map((i) => [i.node.queryId, i.node.contributingAssertions[0]!.assertion.hash])).toEqual([['g1', a.hash], ['g3', a.hash]]);
  });

  it('an assertion may cite a source recorded earlier in the same commit, not one recorded after it', async () => {
    // The batch calls append without a read first, so they reach the ledger in call order.
    const source = (name: string) => t.prov.recordSources('main', [{ locator: `git://${name}`, contentHash: sha(name) }], 'curator');
    const assertion = (n: number, sourceHash: string) =>
      t.prov.recordAssertions('main', [{ subject: `g/order-${n}`, predicate: 'value', value: n, lifecycle: 'PROPOSED', confidence: 0.5, sourceHash }], 'curator');
    const settled = await Promise.allSettled([source('flush-2'), source('before'), assertion(1, sha('before')), assertion(2, sha('after')), source('after')]);
    expect(settled.map(outcome)).toEqual(['ok', 'ok', 'ok', 'BAD_USER_INPUT', 'ok']);
    const [cited] = (settled[2] as PromiseFulfilledResult<Array<{ payload: unknown }>>).value;
    expect((await t.prov.provenance('main', (cited!.payload as { hash: string }).hash)).links[0]!.source!.locator).toBe('git://before');
  });

  it('a query audit may cite an assertion recorded earlier in the same commit, not one recorded after it', async () => {
    await t.prov.recordSources('main', [{ locator: 'git://cite-order', contentHash: sha('cite-order') }], 'curator');
    const content = (n: number) => ({ subject: `g/cite-${n}`, predicate: 'value', value: n, lifecycle: 'PROPOSED' as const, confidence: 0.5, sourceHash: sha('cite-order') });
    const assertion = (n: number) => t.prov.recordAssertions('main', [content(n)], 'curator');
    const cite = (n: number) =>
      t.prov.recordQueries('main', [{ agentId: 'cite-order', subject: `g/cite-${n}`, predicate: 'value', result: n, contributingAssertions: [{ assertionHash: assertionHashOf(content(n)), weight: 1 }] }], 'cite-order');
    const settled = await Promise.allSettled([assertion(0), assertion(1), cite(1), cite(2), assertion(2)]);
    expect(settled.map(outcome)).toEqual(['ok', 'ok', 'ok', 'BAD_USER_INPUT', 'ok']);
  });
});
