import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_DEPTH, parseCanonical } from '../../src/ledger/events/envelope.js';
import { prepareReplicated } from '../../src/ledger/events/prepare.js';
import { treeHasher } from '../../src/ledger/merkle/index.js';
import { assertionHashOf, canonicalExchange, type AssertionContent } from '../../src/provenance/hashing.js';
import { assertionPayload, operationPayload } from '../../src/provenance/records.js';
import { codeOf, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
});
afterAll(async () => t?.close());

const size = async () => (await t.service.head('main')).treeSize;
const rows = async (table: string) => Number((await t.db.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);

async function seed(tag: string) {
  const source = await t.prov.recordSource('main', { locator: `https://cfg.example/${tag}`, contentHash: sha(tag), mediaType: 'application/json' }, 'curator');
  const assertion = await t.prov.recordAssertion(
    'main',
    { subject: `auth/${tag}`, predicate: 'timeout', value: { seconds: 30 }, lifecycle: 'ACCEPTED', confidence: 0.9, sourceHash: source.contentHash },
    'curator',
  );
  return { source, assertion };
}

describe('provenance records', () => {
  it('records a source, an assertion and a query as server-signed events whose rows keep their leaf index and id', async () => {
    const { source, assertion } = await seed('records');
    const expectedHash = sha(
      canonicalize({ subject: 'auth/records', predicate: 'timeout', value: { seconds: 30 }, lifecycle: 'ACCEPTED', confidence: 0.9, sourceHash: sha('records') })!,
    );
    expect(assertion.hash).toBe(expectedHash);
    const audit = await t.prov.recordQuery(
      'main',
      {
        agentId: 'deployment-agent',
        subject: 'auth/records',
        predicate: 'timeout',
        lens: 'prod',
        lifecycleFilter: ['ACCEPTED'],
        result: { seconds: 30, note: 'ü' },
        resultConfidence: 0.8,
        contributingAssertions: [{ assertionHash: assertion.hash, weight: 1 }],
      },
      'agent-key',
    );
    expect(audit.resultHash).toBe(sha(canonicalize({ seconds: 30, note: 'ü' })!));
    expect(audit.contributingAssertions).toMatchObject([
      { assertionHash: assertion.hash, weight: 1, sourceHash: sha('records'), assertion: { subject: 'auth/records' }, source: { locator: 'https://cfg.example/records', contentHash: sha('records') } },
    ]);

    for (const r of [source, assertion, audit]) {
      const e = await t.service.eventAt('main', r.eventIndex);
      expect(e!.id).toBe(r.eventId);
      expect(e!.subsystem).toBe('provenance');
      expect(e!.author).toBe(t.service.serverKey!.did);
      expect(e!.signature).toMatch(/^[0-9a-f]{128}$/);
    }
    const queryEvent = await t.service.eventAt('main', audit.eventIndex);
    expect(queryEvent!.type).toBe('QueryRecorded');
    expect(queryEvent!.actor).toBe('agent-key');
    expect((parseCanonical(queryEvent!.canonical).payload as { resultHash: string }).resultHash).toBe(audit.resultHash);
    const [row] = await t.db.dataSource.query(`SELECT event_idx, encode(event_id, 'hex') AS id FROM prov_query_audits WHERE query_id = $1`, [audit.queryId]);
    expect({ idx: Number(row.event_idx), id: row.id }).toEqual({ idx: audit.eventIndex, id: audit.eventId });
  });

  it('hashes an assertion over the RFC 8785 text of its claim, value keys sorted, and the assertion it revises', () => {
    const claim: AssertionContent = { subject: 's', predicate: 'p', value: { b: 1, a: [{ d: 1, c: 2 }] }, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: sha('x') };
    expect(assertionHashOf(claim)).toBe(sha(canonicalize(claim)!));
    const revising = { ...claim, supersedes: sha('earlier') };
    expect(assertionHashOf(revising)).toBe(sha(canonicalize(revising)!));
    expect(assertionHashOf(revising)).not.toBe(assertionHashOf(claim));
  });

  it('canonicalises what a client exchanged however deep it nests, but refuses a query result nested past the payload limit', async () => {
    const nest = (n: number) => Array.from({ length: n }).reduce<unknown>((v) => [v], 1);
    // An operation audit hashes the variables and response as sent, at any depth.
    expect(canonicalExchange(nest(100))).toBe(`${'['.repeat(100)}1${']'.repeat(100)}`);
    const before = await size();
    const query = { agentId: 'deep', subject: 's', predicate: 'p', result: nest(100), contributingAssertions: [] };
    await expect(t.prov.recordQuery('main', query, 'x')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await size()).toBe(before);
  });

  it('refuses a result nested so deep that its payload would pass the limit a replica holds it to', async () => {
    const nest = (n: number) => Array.from({ length: n }).reduce<unknown>((v) => [v], 1);
    const query = (result: unknown) => ({ agentId: 'deep', subject: 's', predicate: 'p', result, contributingAssertions: [] });
    const before = await size();
    expect(await codeOf(t.prov.recordQuery('main', query(nest(MAX_PAYLOAD_DEPTH)), 'x'))).toBe('BAD_USER_INPUT');
    expect(await size()).toBe(before);
    const audit = await t.prov.recordQuery('main', query(nest(MAX_PAYLOAD_DEPTH - 1)), 'x');
    // A peer pulling the ledger takes the copy.
    const e = (await t.service.event('main', audit.eventId))!;
    const signature = e.signature === null ? null : Buffer.from(e.signature, 'hex');
    expect(() => prepareReplicated(e.canonical, signature, 'replica.test/main', treeHasher('sha256'), t.config)).not.toThrow();
  });

  it('returns the first record when the same source or assertion is recorded again, appending nothing', async () => {
    const first = await seed('again');
    const before = await size();
    const second = await seed('again');
    expect(second.assertion.eventId).toBe(first.assertion.eventId);
    expect(second.source.eventId).toBe(first.source.eventId);
    expect(await size()).toBe(before);
  });

  it('answers concurrent identical recordings with the one record, appending it once', async () => {
    const before = await size();
    const source = { locator: 'git://race', contentHash: sha('race'), mediaType: 'text/plain' };
    const sources = await Promise.all([1, 2, 3].map(() => t.prov.recordSource('main', source, 'x')));
    expect(new Set(sources.map((s) => s.eventId)).size).toBe(1);
    const assertion = { subject: 'race/x', predicate: 'p', value: 1, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash: source.contentHash };
    const assertions = await Promise.all([1, 2, 3].map(() => t.prov.recordAssertion('main', assertion, 'x')));
    expect(new Set(assertions.map((a) => a.eventId)).size).toBe(1);
    expect(await size()).toBe(before + 2);
  });

  it('refuses unknown assertions, sources and predecessors, and writes nothing', async () => {
    const { assertion } = await seed('refuse');
    const before = { size: await size(), audits: await rows('prov_query_audits'), assertions: await rows('prov_assertions') };
    const unknown = sha('nobody asserted this');
    const query = (hashes: string[]) =>
      t.prov.recordQuery('main', {
        agentId: 'a', subject: 's', predicate: 'p', result: 1,
        contributingAssertions: hashes.map((assertionHash) => ({ assertionHash, weight: 0.5 })),
      }, 'x');
    expect(await codeOf(query([assertion.hash, unknown]))).toBe('BAD_USER_INPUT');
    const assert = (over: Record<string, unknown>) =>
      t.prov.recordAssertion('main', { subject: 's', predicate: 'p', value: 1, lifecycle: 'PROPOSED', confidence: 0.5, sourceHash: sha('refuse'), ...over } as never, 'x');
    expect(await codeOf(assert({ sourceHash: unknown }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(assert({ supersedes: unknown }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(assert({ confidence: 1.5 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(assert({ lifecycle: 'MAYBE' }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(assert({ sourceHash: 'xyz' }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(assert({ value: Number.NaN }))).toBe('BAD_USER_INPUT');
    expect({ size: await size(), audits: await rows('prov_query_audits'), assertions: await rows('prov_assertions') }).toEqual(before);
  });

  it('refuses indexed text too long in bytes with BAD_USER_INPUT, and writes nothing', async () => {
    const before = await size();
    const src = (locator: string) => t.prov.recordSource('main', { locator, contentHash: sha(locator) }, 'curator');
    expect(await codeOf(src('\u4e2d'.repeat(2048)))).toBe('BAD_USER_INPUT');
    expect(await codeOf(src(`${'x'.repeat(2047)}\u00e9`))).toBe('BAD_USER_INPUT');
    const assert = (subject: string, predicate: string) =>
      t.prov.recordAssertion('main', { subject, predicate, value: 1, lifecycle: 'PROPOSED', confidence: 1, sourceHash: sha('bytes-source') }, 'curator');
    expect(await codeOf(assert('\u4e2d'.repeat(512), '\u4e2d'.repeat(512)))).toBe('BAD_USER_INPUT');
    expect(await codeOf(assert('s', `${'\u00e9'.repeat(511)}\u4e2d`))).toBe('BAD_USER_INPUT');
    expect(await size()).toBe(before);
    // At the bounds, recorded: the index takes them.
    const longest = await src('x'.repeat(2048));
    await t.prov.recordSource('main', { locator: 'bytes', contentHash: sha('bytes-source') }, 'curator');
    const widest = await assert('\u00e9'.repeat(512), '\u00e9'.repeat(512));
    expect([longest.locator.length, widest.subject.length, widest.predicate.length]).toEqual([2048, 512, 512]);
  });

  it('bounds a subject to 1,024 bytes of UTF-8 with a short predicate beside it', async () => {
    const before = await size();
    await t.prov.recordSource('main', { locator: 'subject-bytes', contentHash: sha('subject-bytes') }, 'curator');
    const assert = (subject: string) =>
      t.prov.recordAssertion('main', { subject, predicate: 'p', value: 1, lifecycle: 'PROPOSED', confidence: 1, sourceHash: sha('subject-bytes') }, 'curator');
    expect(await codeOf(assert(`${'\u00e9'.repeat(511)}\u4e2d`))).toBe('BAD_USER_INPUT');
    expect((await assert('\u00e9'.repeat(512))).subject).toHaveLength(512);
    expect(await size()).toBe(before + 2);
  });

  it('refuses filters PostgreSQL cannot hold as text with BAD_USER_INPUT', async () => {
    const page = { first: 1 };
    expect(await codeOf(t.prov.queryAudits('main', { queryId: 'q\u0000' }, page))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.prov.queryAudits('main', { lens: '\ud800' }, page))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.prov.trace('main', { agent: 'a\u0000', sinceMs: 0, untilMs: Date.now() }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.prov.trace('main', { agent: 'a', subject: 'auth/\u0000', sinceMs: 0, untilMs: Date.now() }))).toBe('BAD_USER_INPUT');
  });

  it('keeps a source\'s media type, reads hashes in either case as one, and a predecessor given as null as none', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://case', contentHash: sha('case').toUpperCase(), mediaType: 'text/plain' }, 'curator');
    expect([src.contentHash, src.mediaType]).toEqual([sha('case'), 'text/plain']);
    const claim = { subject: 'case/x', predicate: 'p', value: 1, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash: sha('case') };
    const lower = assertionPayload({ ...claim, supersedes: sha('earlier') });
    expect(assertionPayload({ ...claim, sourceHash: sha('case').toUpperCase(), supersedes: sha('earlier').toUpperCase() })).toEqual(lower);
    expect(assertionPayload({ ...claim, supersedes: null })).toEqual(assertionPayload(claim));
    expect(assertionPayload(claim)).not.toHaveProperty('supersedes');
    expect(() => assertionPayload({ ...claim, supersedes: 'zz' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('supersedes') }));
  });

  it('refuses a media type or lens PostgreSQL cannot hold as text, and writes nothing', async () => {
    const before = await size();
    expect(await codeOf(t.prov.recordSource('main', { locator: 'git://nul', contentHash: sha('nul'), mediaType: 'text/\u0000' }, 'curator'))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.prov.recordQuery('main', { agentId: 'a', subject: 's', predicate: 'p', lens: 'prod\u0000', result: 1, contributingAssertions: [] }, 'x'))).toBe('BAD_USER_INPUT');
    expect(await size()).toBe(before);
  });

  it('keeps an operation name bounded and well-formed, never splitting a character', () => {
    const op = (operationName: string | null) =>
      operationPayload({ principal: 'p', operationName, operationType: 'query', documentHash: sha('d'), variablesHash: sha('v'), resultHash: sha('r'), durationMs: 1 }).operationName;
    expect(op(null)).toBeNull();
    expect(op('Head')).toBe('Head');
    expect(op('x'.repeat(300))).toBe('x'.repeat(256));
    expect(op('x'.repeat(257))).toBe('x'.repeat(256));
    expect(op('x'.repeat(256))).toBe('x'.repeat(256));
    expect(op(`${'x'.repeat(255)}\u{1F600}tail`)).toBe('x'.repeat(255));
    expect(op(`${'x'.repeat(254)}\u{1F600}tail`)).toBe(`${'x'.repeat(254)}\u{1F600}`);
    // The first and the last high surrogate: U+10000 and U+10FFFD begin with D800 and DBFF.
    expect(op(`${'x'.repeat(255)}\u{10000}`)).toBe('x'.repeat(255));
    expect(op(`${'x'.repeat(255)}\u{10FFFD}`)).toBe('x'.repeat(255));
    expect(op('a\u0000b\ud800')).toBe('a\ufffdb\ufffd');
    // 256 characters exactly are kept whole, a lone surrogate at the end replaced rather than cut.
    expect(op(`${'x'.repeat(255)}\ud800`)).toBe(`${'x'.repeat(255)}\ufffd`);
  });

  it('refuses an operation audit whose hashes are not SHA-256 hex', () => {
    const base = { principal: 'p', operationName: 'Op', operationType: 'query', documentHash: sha('d'), variablesHash: sha('v'), resultHash: sha('r'), durationMs: 1 };
    for (const k of ['documentHash', 'variablesHash', 'resultHash'] as const) {
      expect(() => operationPayload({ ...base, [k]: 'zz' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining(k) }));
    }
  });

  it('refuses one bad caller in a group commit without failing the others', async () => {
    const { assertion } = await seed('group');
    const before = await size();
    const ok = (n: number) =>
      t.prov.recordQuery('main', { agentId: 'g', subject: `group/${n}`, predicate: 'p', result: n, contributingAssertions: [{ assertionHash: assertion.hash, weight: 1 }] }, 'x');
    const badOne = t.prov.recordQuery('main', { agentId: 'g', subject: 'group/bad', predicate: 'p', result: 0, contributingAssertions: [{ assertionHash: sha('ghost'), weight: 1 }] }, 'x');
    const results = await Promise.allSettled([ok(1), badOne, ok(2), ok(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(await size()).toBe(before + 3);
    const page = await t.prov.queryAudits('main', { agent: 'g' }, { first: 10 });
    expect(page.items.map((i) => i.node.subject).sort()).toEqual(['group/1', 'group/2', 'group/3']);
  });

  it('refuses a reused queryId and a second successor of one assertion with CONFLICT', async () => {
    const { assertion, source } = await seed('conflict');
    await t.prov.recordQuery('main', { queryId: 'q-conflict', agentId: 'a', subject: 's', predicate: 'p', result: 1, contributingAssertions: [] }, 'x');
    expect(await codeOf(t.prov.recordQuery('main', { queryId: 'q-conflict', agentId: 'a', subject: 's', predicate: 'p', result: 2, contributingAssertions: [] }, 'x'))).toBe('CONFLICT');
    const next = (value: number) =>
      t.prov.recordAssertion('main', { subject: 'auth/conflict', predicate: 'timeout', value, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: source.contentHash, supersedes: assertion.hash }, 'x');
    await next(60);
    expect(await codeOf(next(90))).toBe('CONFLICT');
  });

  it('records a batch all or none: a supersession chain inside one batch is fine, one bad reference refuses the lot', async () => {
    const [src] = await t.prov.recordSources('main', [{ locator: 'batch', contentHash: sha('batch') }], 'loader');
    const chain: AssertionContent[] = [];
    for (const value of [0, 1, 2]) {
      const previous = chain.at(-1);
      chain.push({ subject: 'batch/x', predicate: 'v', value, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: sha('batch'), ...(previous ? { supersedes: assertionHashOf(previous) } : {}) });
    }
    const events = await t.prov.recordAssertions('main', chain, 'loader');
    expect(events.map((e) => e.index)).toEqual([src!.index + 1, src!.index + 2, src!.index + 3]);
    expect((await t.prov.provenance('main', assertionHashOf(chain[2]!))).links).toHaveLength(3);

    const before = await size();
    const bad = [{ ...chain[0]!, subject: 'batch/y' }, { ...chain[0]!, subject: 'batch/z', sourceHash: sha('no such source') }];
    await expect(t.prov.recordAssertions('main', bad, 'loader')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT', message: expect.stringContaining(`unknown source ${sha('no such source')}`),
    });
    // A supersession points back: the first of a batch cannot supersede the second.
    const later = { ...chain[0]!, subject: 'batch/later' };
    const forward = [{ ...chain[0]!, subject: 'batch/earlier', supersedes: assertionHashOf(later) }, later];
    await expect(t.prov.recordAssertions('main', forward, 'loader')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT', message: `unknown assertion ${assertionHashOf(later)} in supersedes`,
    });
    expect(await size()).toBe(before);
    expect(await codeOf(t.prov.recordQueries('main', [
      { agentId: 'b', subject: 'batch/x', predicate: 'v', result: 1, contributingAssertions: [{ assertionHash: assertionHashOf(chain[0]!), weight: 1 }] },
      { agentId: 'b', subject: 'batch/x', predicate: 'v', result: 1, contributingAssertions: [{ assertionHash: sha('nope'), weight: 1 }] },
    ], 'loader'))).toBe('BAD_USER_INPUT');
    expect(await size()).toBe(before);
  });
});
