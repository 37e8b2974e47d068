import { EntityManager } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertionHashOf, type AssertionContent } from '../../src/provenance/hashing.js';
import { KnownAssertions } from '../../src/provenance/known-assertions.js';
import { ProvenanceService } from '../../src/provenance/service.js';
import { codeOf, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
  await t.prov.recordSource('main', { locator: 'git://known', contentHash: sha('known') }, 'curator');
});
afterAll(async () => t?.close());
afterEach(() => vi.restoreAllMocks());

const content = (subject: string, over: Partial<AssertionContent> = {}): AssertionContent =>
  ({ subject, predicate: 'p', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: sha('known'), ...over });
const cite = (prov: ProvenanceService, ...hashes: string[]) =>
  prov.recordQueries('main', [{ agentId: 'k', subject: 's', predicate: 'p', result: 1, contributingAssertions: hashes.map((assertionHash) => ({ assertionHash, weight: 1 })) }], 'x');

/** Counts the statements that probe prov_assertions for cited hashes, in every transaction. */
function countCitationProbes() {
  const seen = { probes: 0 };
  const query = EntityManager.prototype.query;
  vi.spyOn(EntityManager.prototype, 'query').mockImplementation(function (this: EntityManager, sql: string, params?: Parameters<EntityManager['query']>[1]) {
    if (sql.includes('NOT EXISTS (SELECT 1 FROM prov_assertions a WHERE')) seen.probes++;
    return query.call(this, sql, params);
  });
  return seen;
}

describe('assertions known to be committed', () => {
  it('are cited without a probe; a hash this process has not seen committed is probed', async () => {
    const [recorded] = await t.prov.recordAssertions('main', [content('known/a')], 'curator');
    const seen = countCitationProbes();
    await cite(t.prov, assertionHashOf(content('known/a')));
    expect(seen.probes).toBe(0);

    // Another process (its own service) has not seen it: it probes, and the probe finds it.
    const other = new ProvenanceService(t.db.dataSource, t.service);
    const [audit] = await cite(other, assertionHashOf(content('known/a')));
    expect(seen.probes).toBe(1);
    expect(audit!.index).toBeGreaterThan(recorded!.index);
    // Once that citation commits, the other process knows the hash too.
    await cite(other, assertionHashOf(content('known/a')));
    expect(seen.probes).toBe(1);
  });

  it('do not include what a rolled-back append wrote', async () => {
    const refused = [content('known/rolled-back'), content('known/bad', { sourceHash: sha('no such source') })];
    expect(await codeOf(t.prov.recordAssertions('main', refused, 'curator'))).toBe('BAD_USER_INPUT');
    const seen = countCitationProbes();
    expect(await codeOf(cite(t.prov, assertionHashOf(content('known/rolled-back'))))).toBe('BAD_USER_INPUT');
    expect(seen.probes).toBe(1);
  });

  it('never vouch for an unknown hash among known ones', async () => {
    await t.prov.recordAssertions('main', [content('known/b')], 'curator');
    expect(await codeOf(cite(t.prov, assertionHashOf(content('known/b')), sha('nobody asserted this')))).toBe('BAD_USER_INPUT');
  });
});

describe('KnownAssertions', () => {
  it('keeps what was used since the older generation was dropped, and forgets the rest', () => {
    const known = new KnownAssertions(4); // generations of 2
    known.add(1, ['a', 'b']); // full: a and b become the older generation
    expect(known.has(1, 'a')).toBe(true); // a moves to the recent one
    known.add(1, ['c']); // recent {a, c} is full: it becomes the older one, b is dropped
    expect([known.has(1, 'a'), known.has(1, 'b'), known.has(1, 'c')]).toEqual([true, false, true]);
    expect(known.has(2, 'a')).toBe(false);
  });
});
