import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyInclusion } from '../../src/ledger/merkle/index.js';
import type { Page } from '../../src/ledger/pagination.js';
import type { QueryAuditRecord } from '../../src/provenance/model.js';
import { MAX_TRACE_LINES } from '../../src/provenance/model.js';
import { MAX_CONTRIBUTIONS } from '../../src/provenance/records.js';
import { exportProvJson } from '../../src/provenance/service.js';
import { codeOf, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
let source: string;
beforeAll(async () => {
  t = await openTestProvenance();
  source = (await t.prov.recordSource('main', { locator: 'git://reads', contentHash: sha('reads') }, 'curator')).contentHash;
});
afterAll(async () => t?.close());

const assert = (subject: string, over: Record<string, unknown> = {}) =>
  t.prov.recordAssertion('main', { subject, predicate: 'v', value: subject, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: source, ...over }, 'curator');
const query = (agentId: string, subject: string, cited: string[] = []) =>
  t.prov.recordQuery('main', { agentId, subject, predicate: 'v', result: subject, contributingAssertions: cited.map((assertionHash) => ({ assertionHash, weight: 1 })) }, agentId);
const ids = (page: Page<QueryAuditRecord>) => page.items.map((i) => i.node.queryId);
const size = async () => (await t.service.head('main')).treeSize;

describe('pages of query audits', () => {
  it('pages forward with first/after and back with last/before, each audit once, and says what lies beyond', async () => {
    const all = ['page-0', 'page-1', 'page-2', 'page-3', 'page-4'];
    await t.prov.recordQueries('main', all.map((queryId, i) => ({ queryId, agentId: 'pager', subject: 'p', predicate: 'v', result: i, contributingAssertions: [] })), 'pager');
    const list = (page: object) => t.prov.queryAudits('main', { agent: 'pager' }, page);
    const edges = (p: Page<QueryAuditRecord>) => ({ ids: ids(p), next: p.hasNextPage, previous: p.hasPreviousPage });

    const p1 = await list({ first: 2 });
    expect(edges(p1)).toEqual({ ids: all.slice(0, 2), next: true, previous: false });
    const p2 = await list({ first: 2, after: p1.items.at(-1)!.cursor });
    expect(edges(p2)).toEqual({ ids: all.slice(2, 4), next: true, previous: true });
    // Exactly the rest: nothing after it.
    expect(edges(await list({ first: 1, after: p2.items.at(-1)!.cursor }))).toEqual({ ids: ['page-4'], next: false, previous: true });
    expect(edges(await list({ first: 5 }))).toEqual({ ids: all, next: false, previous: false });

    const last = await list({ last: 2 });
    expect(edges(last)).toEqual({ ids: all.slice(3), next: false, previous: true });
    expect(edges(await list({ last: 2, before: last.items[0]!.cursor }))).toEqual({ ids: all.slice(1, 3), next: true, previous: true });
    expect(edges(await list({ last: 5 }))).toEqual({ ids: all, next: false, previous: false });
  });
});

describe('PROV-JSON export', () => {
  it('goes a page at a time, each page starting after the last audit of the one before', async () => {
    const all = ['exp-0', 'exp-1', 'exp-2'];
    await t.prov.recordQueries('main', all.map((queryId, i) => ({ queryId, agentId: 'exporter', subject: 'e', predicate: 'v', result: i, contributingAssertions: [] })), 'exporter');
    const page = (after?: string) => exportProvJson(t.prov, 'main', { agent: 'exporter' }, { first: 2, after });
    const p1 = await page();
    expect({ activities: Object.keys(p1.document.activity!), next: p1.hasNextPage }).toEqual({ activities: ['cp:query/exp-0', 'cp:query/exp-1'], next: true });
    const p2 = await page(p1.endCursor!);
    expect({ activities: Object.keys(p2.document.activity!), next: p2.hasNextPage }).toEqual({ activities: ['cp:query/exp-2'], next: false });
  });
});

describe('filters of query audits', () => {
  it('narrow by predicate and by lens, each alone and together, an audit without a lens matching no lens', async () => {
    const audits = [
      { queryId: 'f-ttl-prod', predicate: 'ttl', lens: 'prod' },
      { queryId: 'f-ttl-stage', predicate: 'ttl', lens: 'stage' },
      { queryId: 'f-ttl-none', predicate: 'ttl', lens: null },
      { queryId: 'f-owner-prod', predicate: 'owner', lens: 'prod' },
    ];
    await t.prov.recordQueries('main', audits.map((a) => ({ ...a, agentId: 'filtered', subject: 'f', result: a.queryId, contributingAssertions: [] })), 'filtered');
    const list = async (filter: object) => ids(await t.prov.queryAudits('main', { agent: 'filtered', ...filter }, {})).sort();
    expect(await list({ predicate: 'ttl' })).toEqual(['f-ttl-none', 'f-ttl-prod', 'f-ttl-stage']);
    expect(await list({ lens: 'prod' })).toEqual(['f-owner-prod', 'f-ttl-prod']);
    expect(await list({ predicate: 'ttl', lens: 'stage' })).toEqual(['f-ttl-stage']);
    expect(await list({ predicate: 'owner', lens: 'stage' })).toEqual([]);
  });
});

describe('citation weights', () => {
  /** A weight of 0 is in 0..1 like any other: every read gives it back as 0, not as a weight left out. */
  it('read back as recorded, 0 included, in order, by a recording, a page, a trace and an export', async () => {
    const [a, b, c] = [await assert('weight/a'), await assert('weight/b'), await assert('weight/c')];
    const cited = [{ assertionHash: a.hash, weight: 0 }, { assertionHash: b.hash, weight: 0.25 }, { assertionHash: c.hash, weight: 1 }];
    const recorded = await t.prov.recordQuery('main', { agentId: 'weigher', subject: 'weight', predicate: 'v', result: 1, contributingAssertions: cited }, 'weigher');
    const weights = (audit: QueryAuditRecord) => audit.contributingAssertions.map(({ assertionHash, weight }) => ({ assertionHash, weight }));
    expect(weights(recorded)).toEqual(cited);
    const [listed] = (await t.prov.queryAudits('main', { queryId: recorded.queryId }, {})).items;
    expect(weights(listed!.node)).toEqual(cited);
    const { lines } = await t.prov.trace('main', { agent: 'weigher', sinceMs: 0 });
    expect(lines.map(weights)).toEqual([cited]);
    const { document } = await exportProvJson(t.prov, 'main', { agent: 'weigher' }, {});
    expect(Object.values(document.used!).map((u) => u['cp:weight'])).toEqual([0, 0.25, 1]);
  });
});

describe('optional fields of an audit', () => {
  /** What a recording leaves out reads back as null, not as a value it never had (a confidence of 0, a lens). */
  it('read back as null where the recording gave none, and as given where it did', async () => {
    const bare = await t.prov.recordQuery('main', { agentId: 'optional', subject: 'o', predicate: 'v', result: 1, contributingAssertions: [] }, 'optional');
    const full = await t.prov.recordQuery('main', { agentId: 'optional', subject: 'o', predicate: 'v', lens: 'prod', lifecycleFilter: ['ACCEPTED'], resultConfidence: 0, result: 2, contributingAssertions: [] }, 'optional');
    const fields = (a: QueryAuditRecord) => ({ lens: a.lens, lifecycleFilter: a.lifecycleFilter, resultConfidence: a.resultConfidence });
    const expected = [{ lens: null, lifecycleFilter: null, resultConfidence: null }, { lens: 'prod', lifecycleFilter: ['ACCEPTED'], resultConfidence: 0 }];
    expect([bare, full].map(fields)).toEqual(expected);
    expect((await t.prov.queryAudits('main', { agent: 'optional' }, {})).items.map((i) => fields(i.node))).toEqual(expected);
    expect((await t.prov.trace('main', { agent: 'optional', sinceMs: 0 })).lines.map(fields)).toEqual(expected);
  });

  it('a queryId given as null, like one left out, is a new id of the server\'s making', async () => {
    const rec = (queryId?: null) => t.prov.recordQuery('main', { queryId, agentId: 'unnamed', subject: 'u', predicate: 'v', result: 1, contributingAssertions: [] }, 'unnamed');
    const [given, left] = [await rec(null), await rec()];
    for (const a of [given, left]) expect(a.queryId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(given.queryId).not.toBe(left.queryId);
    expect(ids(await t.prov.queryAudits('main', { agent: 'unnamed' }, {}))).toEqual([given.queryId, left.queryId]);
  });

  it('a recording answers with its cited assertions as they are now: a superseded one names its successor, and no past bound', async () => {
    const a = await assert('recorded-now/a');
    const b = await assert('recorded-now/b', { supersedes: a.hash });
    const recorded = await query('recorded-now', 'recorded-now/a', [a.hash]);
    expect(recorded.readBound).toBeUndefined();
    expect(await t.prov.successorReader()(recorded.contributingAssertions[0]!.assertion)).toBe(b.hash);
  });
});

describe('a trace request', () => {
  it('needs an agent, and a window that does not end before it starts (a one-instant window is one)', async () => {
    const q = await query('window-agent', 'w');
    const at = q.time.getTime();
    const trace = (agent: string, sinceMs: number, untilMs?: number) => t.prov.trace('main', { agent, sinceMs, untilMs });
    await expect(trace('', 0)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'agent is required' });
    await expect(trace('window-agent', at, at - 1)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'since must not be after until' });
    expect((await trace('window-agent', at, at)).lines.map((l) => l.queryId)).toEqual([q.queryId]);
  });
});

describe('asOf bounds', () => {
  it('refuses an asOf that is empty, negative, fractional or no time, and takes the head itself', async () => {
    const q = await query('asof-agent', 'a');
    const head = await size();
    const list = (asOf: object) => t.prov.queryAudits('main', { agent: 'asof-agent' }, {}, asOf);
    for (const asOf of [{}, { treeSize: null, blockHeight: null, timeMs: null }]) {
      await expect(list(asOf)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('exactly one of') });
    }
    for (const asOf of [{ treeSize: -1 }, { treeSize: 1.5 }, { timeMs: Number.NaN }, { timeMs: 1.5 }]) {
      expect(await codeOf(list(asOf)), JSON.stringify(asOf)).toBe('BAD_USER_INPUT');
    }
    expect(ids(await list({ treeSize: head }))).toEqual([q.queryId]);
  });

  it('shows a record and a successor from the tree size just past their leaves, not at them', async () => {
    const a = await assert('edge/a');
    const q = await query('edge-agent', 'edge/a', [a.hash]);
    const b = await assert('edge/b', { supersedes: a.hash });
    expect([q.eventIndex, b.eventIndex]).toEqual([a.eventIndex + 1, a.eventIndex + 2]);

    expect(await codeOf(t.prov.provenance('main', a.hash, { treeSize: a.eventIndex }))).toBe('NOT_FOUND');
    expect((await t.prov.provenance('main', a.hash, { treeSize: a.eventIndex + 1 })).assertion.hash).toBe(a.hash);
    expect((await t.prov.provenance('main', a.hash, { treeSize: b.eventIndex })).assertion.supersededBy).toBeNull();
    expect((await t.prov.provenance('main', a.hash, { treeSize: b.eventIndex + 1 })).assertion.supersededBy).toBe(b.hash);

    const audits = (treeSize: number) => t.prov.queryAudits('main', { agent: 'edge-agent' }, {}, { treeSize });
    expect(ids(await audits(q.eventIndex))).toEqual([]);
    expect(ids(await audits(q.eventIndex + 1))).toEqual([q.queryId]);
    const successor = t.prov.successorReader();
    const cited = async (treeSize: number) => successor((await audits(treeSize)).items[0]!.node.contributingAssertions[0]!.assertion);
    expect(await cited(b.eventIndex)).toBeNull();
    expect(await cited(b.eventIndex + 1)).toBe(b.hash);
  });

  it('reads as of a block height up to and including that block\'s last leaf', async () => {
    const q = await query('block-agent', 'b');
    const cp = await t.service.createCheckpoint('main');
    expect(cp.treeSize).toBe(q.eventIndex + 1);
    expect(ids(await t.prov.queryAudits('main', { agent: 'block-agent' }, {}, { blockHeight: cp.blockHeight }))).toEqual([q.queryId]);
  });

  it('proves a record appended right after a checkpoint against the current tree, and gives its chain no checkpoint', async () => {
    const cp = await t.service.createCheckpoint('main');
    const a = await assert('after-checkpoint');
    expect(a.eventIndex).toBe(cp.treeSize);
    expect((await t.prov.provenance('main', a.hash)).checkpoint).toBeNull();
    const proof = await t.prov.lineProofs('main').proof(a.eventIndex);
    expect(proof.checkpoint).toBeNull();
    expect(proof.treeSize).toBeGreaterThan(a.eventIndex);
    const ok = verifyInclusion('sha256', proof.leafIndex, proof.treeSize, Buffer.from(proof.leafHash, 'hex'), proof.hashes.map((h) => Buffer.from(h, 'hex')), Buffer.from(proof.rootHash, 'hex'));
    expect(ok).toBe(true);
  });
});

describe('trace bounds', () => {
  it('starts a window at an audit that directly follows an earlier one, and ends it at an audit directly before a later one', async () => {
    await t.service.createLedger('window', {});
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    const times: number[] = [];
    const recorded: string[] = [];
    try {
      for (let n = 0; n < 3; n++) {
        vi.setSystemTime(start + 1000 * n);
        const q = await t.prov.recordQuery('window', { agentId: 'w', subject: 'w', predicate: 'v', result: n, contributingAssertions: [] }, 'w');
        times.push(q.time.getTime());
        recorded.push(q.queryId);
      }
    } finally {
      vi.useRealTimers();
    }
    expect(times[0]! < times[1]! && times[1]! < times[2]!).toBe(true);
    const trace = async (sinceMs: number, untilMs?: number) => (await t.prov.trace('window', { agent: 'w', sinceMs, untilMs })).lines.map((l) => l.queryId);
    // A window of one millisecond holds the audit stamped in it.
    for (const i of [0, 1, 2]) expect(await trace(times[i]!, times[i]!)).toEqual([recorded[i]]);
    expect(await trace(times[1]!)).toEqual(recorded.slice(1));
    expect(await trace(times[0]! + 1, times[2]! - 1)).toEqual([recorded[1]]);
  });

  it('without first, gives up to MAX_TRACE_LINES lines', async () => {
    await t.prov.recordQueries('main', Array.from({ length: 101 }, (_, i) => ({ agentId: 'unlimited', subject: 'u', predicate: 'v', result: i, contributingAssertions: [] })), 'unlimited');
    const all = await t.prov.trace('main', { agent: 'unlimited', sinceMs: 0 });
    expect({ lines: all.lines.length, truncated: all.truncated }).toEqual({ lines: 101, truncated: false });
  });

  it('takes first from 1 to MAX_TRACE_LINES, and is not cut when exactly first lines match', async () => {
    await query('counted', 'c');
    await query('counted', 'c');
    const trace = (first: number) => t.prov.trace('main', { agent: 'counted', sinceMs: 0, first });
    for (const first of [0, -1, 1.5, MAX_TRACE_LINES + 1]) expect(await codeOf(trace(first)), String(first)).toBe('BAD_USER_INPUT');
    expect((await trace(2)).truncated).toBe(false);
    expect((await trace(1)).truncated).toBe(true);
    expect((await trace(MAX_TRACE_LINES)).lines).toHaveLength(2);
  });
});

describe('cited assertion values', () => {
  it('holds reads to the allowance they share, to the character, but not a recording\'s own answer', async () => {
    // Its value is 1,000 characters of JSON.
    const a = await assert('allowance', { value: 'x'.repeat(998) });
    await t.prov.recordQueries('main', [1, 2].map((n) => ({ agentId: 'allowance', subject: 'allowance', predicate: 'v', result: n, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }] })), 'allowance');
    const read = (citedValues: { left: number }, citedRecords?: boolean) => t.prov.queryAudits('main', { agent: 'allowance' }, {}, undefined, { citedValues, citedRecords });

    const shared = { left: 2000 };
    expect(ids(await read(shared))).toHaveLength(2);
    expect(shared.left).toBe(0);
    expect(await codeOf(read(shared))).toBe('RESULT_TOO_LARGE');
    expect(await codeOf(read({ left: 1999 }))).toBe('RESULT_TOO_LARGE');
    // Without the assertion records, nothing is drawn.
    const bare = await read({ left: 0 }, false);
    expect(bare.items[0]!.node.contributingAssertions[0]!.assertion).toBeNull();

    const recorded = await t.prov.recordQuery('main', { agentId: 'allowance', subject: 'allowance', predicate: 'v', result: 3, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }] }, 'allowance', { citedValues: { left: 0 } });
    expect(recorded.contributingAssertions[0]!.assertion.hash).toBe(a.hash);
  });
});

describe('records refused', () => {
  it('refuses negative confidences and weights, malformed hashes, repeated citations, bad query ids and lifecycles, empty text, no result or value, and writes nothing', async () => {
    const a = await assert('valid');
    const before = await size();
    const rec = (over: Record<string, unknown>) =>
      t.prov.recordQuery('main', { agentId: 'v', subject: 'v', predicate: 'v', result: 1, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }], ...over } as never, 'v');
    const refusals: Array<[string, () => Promise<unknown>]> = [
      ['negative confidence', () => assert('negative', { confidence: -0.1 })],
      ['negative result confidence', () => rec({ resultConfidence: -1 })],
      ['negative weight', () => rec({ contributingAssertions: [{ assertionHash: a.hash, weight: -0.5 }] })],
      ['65 hex digits', () => assert('long-hash', { sourceHash: `${source}0` })],
      ['65 hex digits cited', () => rec({ contributingAssertions: [{ assertionHash: `0${a.hash}`, weight: 1 }] })],
      ['cited twice', () => rec({ contributingAssertions: [{ assertionHash: a.hash, weight: 0.5 }, { assertionHash: a.hash.toUpperCase(), weight: 0.5 }] })],
      ['queryId with a space', () => rec({ queryId: 'has space' })],
      ['queryId starting with punctuation', () => rec({ queryId: '-q' })],
      ['queryId too long', () => rec({ queryId: 'q'.repeat(129) })],
      ['unknown lifecycle', () => rec({ lifecycleFilter: ['ACCEPTED', 'MAYBE'] })],
      ['empty agent', () => rec({ agentId: '' })],
      ['agent with NUL', () => rec({ agentId: 'a\u0000' })],
      ['subject with a lone surrogate', () => rec({ subject: 'auth/\ud800' })],
      ['confidence above 1', () => assert('above-one', { confidence: 1.01 })],
      ['result confidence above 1', () => rec({ resultConfidence: 1.01 })],
      ['weight above 1', () => rec({ contributingAssertions: [{ assertionHash: a.hash, weight: 1.01 }] })],
      ['NaN weight', () => rec({ contributingAssertions: [{ assertionHash: a.hash, weight: Number.NaN }] })],
      ['NaN result confidence', () => rec({ resultConfidence: Number.NaN })],
    ];
    for (const [what, p] of refusals) expect(await codeOf(p()), what).toBe('BAD_USER_INPUT');
    // Said as such, not as JSON that cannot be encoded.
    await expect(rec({ result: undefined })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'result is required (any JSON value)' });
    await expect(assert('no-value', { value: undefined })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'value is required (any JSON value)' });
    expect(await size()).toBe(before);
  });

  it('takes text fields of 512 characters, not one more, and writes nothing for the longer', async () => {
    const rec = (over: Record<string, unknown>) =>
      t.prov.recordQuery('main', { agentId: 'long', subject: 'long', predicate: 'v', result: 1, contributingAssertions: [], ...over } as never, 'long');
    const before = await size();
    for (const field of ['agentId', 'subject', 'predicate', 'lens']) expect(await codeOf(rec({ [field]: 'x'.repeat(513) })), field).toBe('BAD_USER_INPUT');
    expect(await size()).toBe(before);
    const longest = await rec({ agentId: 'a'.repeat(512), subject: 's'.repeat(512), predicate: 'p'.repeat(512), lens: 'l'.repeat(512) });
    expect([longest.agentId, longest.subject, longest.predicate, longest.lens!].map((text) => text.length)).toEqual([512, 512, 512, 512]);
  });

  it('keeps each lifecycle of a filter once, in the order first given', async () => {
    const recorded = await t.prov.recordQuery('main', { agentId: 'lf', subject: 'lf', predicate: 'v', result: 1, lifecycleFilter: ['PROPOSED', 'ACCEPTED', 'PROPOSED'], contributingAssertions: [] }, 'lf');
    expect(recorded.lifecycleFilter).toEqual(['PROPOSED', 'ACCEPTED']);
    const [read] = (await t.prov.queryAudits('main', { queryId: recorded.queryId }, {})).items;
    expect(read!.node.lifecycleFilter).toEqual(['PROPOSED', 'ACCEPTED']);
  });

  it(`takes ${MAX_CONTRIBUTIONS} citations, not one more`, async () => {
    const events = await t.prov.recordAssertions('main', Array.from({ length: MAX_CONTRIBUTIONS + 1 }, (_, i) => ({
      subject: `many/${i}`, predicate: 'v', value: i, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash: source,
    })), 'curator');
    const cites = events.map((e) => ({ assertionHash: (e.payload as { hash: string }).hash, weight: 1 }));
    const rec = (contributingAssertions: typeof cites) => t.prov.recordQuery('main', { agentId: 'many', subject: 'many', predicate: 'v', result: 1, contributingAssertions }, 'many');
    expect(await codeOf(rec(cites))).toBe('BAD_USER_INPUT');
    expect((await rec(cites.slice(1))).contributingAssertions).toHaveLength(MAX_CONTRIBUTIONS);
  });
});
