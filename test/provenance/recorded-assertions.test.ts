import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BOUND } from '../../src/provenance/reads.js';
import { MAX_CACHED_VALUE_CHARS, RecordedAssertions } from '../../src/provenance/recorded-assertions.js';
import { explaining, rowsRead } from '../support/plan.js';
import { countedDataSource, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
let ledgerId: number;
beforeAll(async () => {
  t = await openTestProvenance();
  ledgerId = (await t.service.ledger('main')).id;
  await t.prov.recordSource('main', { locator: 'git://ra', contentHash: sha('ra-source') }, 'curator');
});
afterAll(async () => t?.close());

/** A RecordedAssertions whose statements are counted. */
function counted() {
  const { db, seen } = countedDataSource(t);
  return { assertions: new RecordedAssertions(db), seen };
}

const assert = (subject: string, supersedes?: string) =>
  t.prov.recordAssertion('main', { subject, predicate: 'value', value: { v: subject, supersedes: supersedes ?? null }, lifecycle: 'ACCEPTED', confidence: 0.9, sourceHash: sha('ra-source'), supersedes }, 'curator');

describe('RecordedAssertions', () => {
  it('gives a recorded assertion, and keeps giving it without a statement', async () => {
    const a = await assert('ra/one');
    const { assertions, seen } = counted();
    const first = await assertions.of(ledgerId, [a.hash, a.hash], NO_BOUND);
    expect(first.get(a.hash)).toMatchObject({ subject: 'ra/one', value: { v: 'ra/one' }, sourceHash: sha('ra-source') });
    const again = await assertions.of(ledgerId, [a.hash], NO_BOUND);
    expect(again.get(a.hash)).toBe(first.get(a.hash));
    expect(Object.isFrozen(again.get(a.hash))).toBe(true);
    expect(seen.statements).toBe(1);
  });

  it('reads a large value again rather than keep it', async () => {
    const big = await t.prov.recordAssertion('main', { subject: 'ra/big', predicate: 'blob', value: 'b'.repeat(MAX_CACHED_VALUE_CHARS), lifecycle: 'ACCEPTED', confidence: 1, sourceHash: sha('ra-source') }, 'curator');
    const { assertions, seen } = counted();
    expect((await assertions.of(ledgerId, [big.hash], NO_BOUND)).get(big.hash)?.value).toHaveLength(MAX_CACHED_VALUE_CHARS);
    expect((await assertions.of(ledgerId, [big.hash], NO_BOUND)).get(big.hash)?.value).toHaveLength(MAX_CACHED_VALUE_CHARS);
    expect(seen.statements).toBe(2);
  });

  it('keeps a value of exactly the largest size it keeps', async () => {
    // A JSON string: its quotes make up the rest.
    const edge = await t.prov.recordAssertion('main', { subject: 'ra/edge', predicate: 'blob', value: 'e'.repeat(MAX_CACHED_VALUE_CHARS - 2), lifecycle: 'ACCEPTED', confidence: 1, sourceHash: sha('ra-source') }, 'curator');
    const { assertions, seen } = counted();
    expect((await assertions.of(ledgerId, [edge.hash], NO_BOUND)).get(edge.hash)?.valueChars).toBe(MAX_CACHED_VALUE_CHARS);
    await assertions.of(ledgerId, [edge.hash], NO_BOUND);
    expect(seen.statements).toBe(1);
  });

  it('does not remember a hash that has no record yet', async () => {
    const { assertions, seen } = counted();
    const hash = sha('not an assertion');
    expect((await assertions.of(ledgerId, [hash], NO_BOUND)).size).toBe(0);
    expect((await assertions.of(ledgerId, [hash], NO_BOUND)).size).toBe(0);
    expect(seen.statements).toBe(2);
  });

  it('scopes a bounded read\'s successors to its bound, and leaves the shared record as it was', async () => {
    const a = await assert('ra/two');
    const { assertions } = counted();
    const shared = (await assertions.of(ledgerId, [a.hash], NO_BOUND)).get(a.hash)!;
    const bounded = (await assertions.of(ledgerId, [a.hash], a.eventIndex + 1)).get(a.hash)!;
    expect(bounded.successorScope).toEqual({ ledgerId, bound: a.eventIndex + 1 });
    expect(shared.successorScope).toEqual({ ledgerId, bound: NO_BOUND });
    expect(bounded.hash).toBe(a.hash);
  });

  it('lets a trace see a supersession that came after the assertion was remembered', async () => {
    const old = await assert('ra/three');
    await t.prov.recordQuery('main', { queryId: 'ra-q1', agentId: 'ra-agent', subject: 'ra/three', predicate: 'value', result: 1, contributingAssertions: [{ assertionHash: old.hash, weight: 1 }] }, 'agent');
    const trace = () => t.prov.trace('main', { agent: 'ra-agent', sinceMs: 0, untilMs: Date.now() + 60_000 });
    const successorOf = async () => t.prov.successorReader()((await trace()).lines[0]!.contributingAssertions[0]!.assertion);
    expect(await successorOf()).toBeNull(); // the service now remembers the assertion
    const next = await assert('ra/three-next', old.hash);
    expect(await successorOf()).toBe(next.hash);
  });

  it('lets a read without asOf see a supersession, though a read as of the past remembered the assertion first', async () => {
    const old = await assert('ra/four');
    // Recorded without reading its citations back, so the read as of the head below is the first.
    await t.prov.recordQuery('main', { queryId: 'ra-q2', agentId: 'ra-agent-2', subject: 'ra/four', predicate: 'value', result: 1, contributingAssertions: [{ assertionHash: old.hash, weight: 1 }] }, 'agent', { citedRecords: false });
    const trace = (asOf?: { treeSize: number }) => t.prov.trace('main', { agent: 'ra-agent-2', sinceMs: 0, untilMs: Date.now() + 60_000 }, asOf);
    const successorOf = async (asOf?: { treeSize: number }) => t.prov.successorReader()((await trace(asOf)).lines[0]!.contributingAssertions[0]!.assertion);
    const then = { treeSize: (await t.service.head('main')).treeSize };
    expect(await successorOf(then)).toBeNull();
    const next = await assert('ra/four-next', old.hash);
    expect(await successorOf()).toBe(next.hash);
    expect(await successorOf(then)).toBeNull();
  });

  it('looks up many hashes by probing for each, not by reading every assertion', async () => {
    const recorded = [];
    for (let from = 0; from < 3000; from += 1000) {
      recorded.push(...await t.prov.recordAssertions('main', Array.from({ length: 1000 }, (_, i) => ({
        subject: `ra/many/${from + i}`, predicate: 'value', value: from + i, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash: sha('ra-source'),
      })), 'curator'));
    }
    await t.db.dataSource.query('ANALYZE prov_assertions');
    const wanted = recorded.filter((_, i) => i % 5 === 0).map((e) => (e.payload as { hash: string }).hash);
    const { db, lastPlan } = explaining(t.db.dataSource);
    const found = await new RecordedAssertions(db as unknown as DataSource).of(ledgerId, wanted, NO_BOUND);
    expect(found.size).toBe(600);
    // Given the 600 hashes as constants, the planner read all 3,000 rows instead.
    expect(rowsRead(lastPlan(), 'prov_assertions')).toBe(600);
  });
});
