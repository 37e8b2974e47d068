import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInclusion } from '../../src/ledger/merkle/index.js';
import { assertionPayload, type AssertionInput } from '../../src/provenance/records.js';
import { MAX_CHAIN_DEPTH } from '../../src/provenance/service.js';
import { tamper } from '../verify/support.js';
import { codeOf, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
});
afterAll(async () => t?.close());

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('time travel and the provenance chain', () => {
  it('returns an assertion as it was before a later supersession, by tree size, block height and time', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://cfg@1', contentHash: sha('cfg v1') }, 'curator');
    const v1 = await t.prov.recordAssertion('main', { subject: 'auth/ttl', predicate: 'value', value: 30, lifecycle: 'PROPOSED', confidence: 0.6, sourceHash: src.contentHash }, 'curator');
    const q1 = await t.prov.recordQuery('main', { agentId: 'deployer', subject: 'auth/ttl', predicate: 'value', result: 30, contributingAssertions: [{ assertionHash: v1.hash, weight: 1 }] }, 'deployer');
    const cp = await t.service.createCheckpoint('main');
    const sizeBefore = (await t.service.head('main')).treeSize;
    const timeBefore = q1.time.getTime();
    await tick();
    const src2 = await t.prov.recordSource('main', { locator: 'git://cfg@2', contentHash: sha('cfg v2') }, 'curator');
    const v2 = await t.prov.recordAssertion('main', { subject: 'auth/ttl', predicate: 'value', value: 60, lifecycle: 'ACCEPTED', confidence: 0.95, sourceHash: src2.contentHash, supersedes: v1.hash }, 'reviewer');
    const q2 = await t.prov.recordQuery('main', { agentId: 'deployer', subject: 'auth/ttl', predicate: 'value', result: 60, contributingAssertions: [{ assertionHash: v2.hash, weight: 1 }] }, 'deployer');

    expect((await t.prov.provenance('main', v1.hash)).assertion.supersededBy).toBe(v2.hash);
    // Audits leave successors out; the reader finds them as of the audit read's own asOf.
    const successor = t.prov.successorReader();
    for (const asOf of [{ treeSize: sizeBefore }, { blockHeight: cp.blockHeight }, { timeMs: timeBefore }]) {
      const then = await t.prov.provenance('main', v1.hash, asOf);
      expect(then.assertion.supersededBy, JSON.stringify(asOf)).toBeNull();
      expect(await codeOf(t.prov.provenance('main', v2.hash, asOf))).toBe('NOT_FOUND');
      const audits = await t.prov.queryAudits('main', { agent: 'deployer' }, {}, asOf);
      expect(audits.items.map((i) => i.node.queryId)).toEqual([q1.queryId]);
      const cited = audits.items[0]!.node.contributingAssertions[0]!.assertion;
      expect(cited.supersededBy).toBeUndefined();
      expect(await successor(cited)).toBeNull();
    }
    const now = await t.prov.queryAudits('main', { agent: 'deployer' }, {});
    expect(now.items.map((i) => i.node.queryId)).toEqual([q1.queryId, q2.queryId]);
    const [then, later] = await Promise.all(now.items.map((i) => successor(i.node.contributingAssertions[0]!.assertion)));
    expect([then, later]).toEqual([v2.hash, null]);
    // The state at tree size 0 had nothing at all.
    expect(await codeOf(t.prov.provenance('main', v1.hash, { treeSize: 0 }))).toBe('NOT_FOUND');
  });

  it('keeps proofs, blocks and checkpoints to asOf: nothing signed or mined after it shows', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://bound', contentHash: sha('bound') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'bound/x', predicate: 'v', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    const q = await t.prov.recordQuery('main', { agentId: 'bounded', subject: 'bound/x', predicate: 'v', result: 1, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }] }, 'bounded');
    const sizeThen = (await t.service.head('main')).treeSize;
    const timeThen = q.time.getTime();
    await tick();
    const cp1 = await t.service.createCheckpoint('main');
    expect(cp1.treeSize).toBe(sizeThen);
    expect(cp1.timestampMs).toBeGreaterThan(timeThen);
    await t.prov.recordQuery('main', { agentId: 'bounded', subject: 'bound/x', predicate: 'v', result: 1, contributingAssertions: [{ assertionHash: a.hash, weight: 1 }] }, 'bounded');
    const cp2 = await t.service.createCheckpoint('main');

    // At that time neither the checkpoint nor the block over those leaves existed yet.
    const byTime = await t.prov.provenance('main', a.hash, { timeMs: timeThen });
    expect(byTime.checkpoint).toBeNull();
    expect(byTime.links[0]!.block).toBeNull();
    // At that tree size they did: nothing was appended before they were made.
    const bySize = await t.prov.provenance('main', a.hash, { treeSize: sizeThen });
    expect(bySize.checkpoint?.id).toBe(cp1.id);
    expect(bySize.links[0]!.block).not.toBeNull();
    expect((await t.prov.provenance('main', a.hash)).checkpoint?.id).toBe(cp2.id);

    const lineProof = async (asOf?: { treeSize?: number; timeMs?: number }) => {
      const { lines } = await t.prov.trace('main', { agent: 'bounded', sinceMs: 0, untilMs: Date.now() + 1000 }, asOf);
      const proof = await t.prov.lineProofs('main', lines[0]!.readBound).proof(lines[0]!.eventIndex);
      const ok = verifyInclusion('sha256', proof.leafIndex, proof.treeSize, Buffer.from(proof.leafHash, 'hex'), proof.hashes.map((h) => Buffer.from(h, 'hex')), Buffer.from(proof.rootHash, 'hex'));
      expect(ok).toBe(true);
      expect(proof.leafIndex).toBe(q.eventIndex);
      return { lines: lines.length, treeSize: proof.treeSize, checkpoint: proof.checkpoint?.id ?? null };
    };
    expect(await lineProof()).toEqual({ lines: 2, treeSize: cp2.treeSize, checkpoint: cp2.id });
    expect(await lineProof({ treeSize: sizeThen })).toEqual({ lines: 1, treeSize: cp1.treeSize, checkpoint: cp1.id });
    expect(await lineProof({ timeMs: timeThen })).toEqual({ lines: 1, treeSize: sizeThen, checkpoint: null });
  });

  it('shows a checkpoint as of the millisecond it was signed, and of two over one tree the later', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://instant', contentHash: sha('instant') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'instant/x', predicate: 'v', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    const cp1 = await t.service.createCheckpoint('main');
    const cp2 = await t.service.createCheckpoint('main');
    expect(cp2.treeSize).toBe(cp1.treeSize);
    expect((await t.prov.provenance('main', a.hash)).checkpoint?.id).toBe(cp2.id);
    expect((await t.prov.provenance('main', a.hash, { treeSize: cp1.treeSize })).checkpoint?.id).toBe(cp2.id);
    expect((await t.prov.provenance('main', a.hash, { timeMs: cp2.timestampMs })).checkpoint?.id).toBe(cp2.id);
  });

  it('gives each cited assertion of a line its first source, as recorded', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://cited@1', contentHash: sha('cited'), mediaType: 'text/yaml' }, 'curator');
    await t.prov.recordSource('main', { locator: 'git://cited@mirror', contentHash: sha('cited') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'cited/x', predicate: 'v', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    await t.prov.recordQuery('main', { agentId: 'citing', subject: 'cited/x', predicate: 'v', result: 1, contributingAssertions: [{ assertionHash: a.hash, weight: 0.5 }] }, 'citing');
    const { lines } = await t.prov.trace('main', { agent: 'citing', sinceMs: 0 });
    expect(lines[0]!.contributingAssertions).toEqual([
      expect.objectContaining({ assertionHash: a.hash, weight: 0.5, sourceHash: src.contentHash, source: expect.objectContaining({ locator: 'git://cited@1', mediaType: 'text/yaml', eventIndex: src.eventIndex }) }),
    ]);
  });

  it('shows a block as of the millisecond it was mined, though PostgreSQL keeps its time in microseconds', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://mined', contentHash: sha('mined') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'mined/x', predicate: 'v', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    const { blockHeight } = await t.service.createCheckpoint('main');
    // Mined 0.6 ms into a millisecond: a reader sees (and asks by) that millisecond.
    const ledgerId = (await t.service.ledger('main')).id;
    await tamper(t.db.dataSource, [`UPDATE blocks SET mined_at = date_trunc('milliseconds', mined_at) + interval '600 microseconds' WHERE ledger_id = $1 AND height = $2`, [ledgerId, blockHeight]]);
    const minedAt = (await t.service.block('main', blockHeight))!.minedAt.getTime();
    const chain = (timeMs: number) => t.prov.provenance('main', a.hash, { timeMs });
    expect((await chain(minedAt)).links[0]!.block?.height).toBe(blockHeight);
  });

  it('takes a tree size beside a time left null as a tree size, and shows the checkpoint signed over it', async () => {
    // A caller that spells out every field of asOf sends the others as null.
    const src = await t.prov.recordSource('main', { locator: 'git://spelled', contentHash: sha('spelled') }, 'curator');
    const a = await t.prov.recordAssertion('main', { subject: 'spelled/x', predicate: 'v', value: 1, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    const cp = await t.service.createCheckpoint('main');
    const chain = await t.prov.provenance('main', a.hash, { treeSize: cp.treeSize, blockHeight: null, timeMs: null });
    expect(chain.checkpoint?.id).toBe(cp.id);
    expect(chain.links[0]!.block?.height).toBe(cp.blockHeight);
  });

  it('gives the successor a chain read found with its assertion, as of that read', async () => {
    const src = await t.prov.recordSource('main', { locator: 'git://successor', contentHash: sha('successor') }, 'curator');
    const assert = (value: number, supersedes?: string) =>
      t.prov.recordAssertion('main', { subject: 'successor/x', predicate: 'v', value, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash, supersedes }, 'curator');
    const a = await assert(1);
    const before = (await t.service.head('main')).treeSize;
    const b = await assert(2, a.hash);
    // A chain's assertions carry their successors already: the reader gives those, with no scope to look them up by.
    const successor = t.prov.successorReader();
    expect(await successor((await t.prov.provenance('main', a.hash)).assertion)).toBe(b.hash);
    expect(await successor((await t.prov.provenance('main', a.hash, { treeSize: before })).assertion)).toBeNull();
  });

  it('refuses asOf with two bounds, a tree size past the head, or an unknown block', async () => {
    const head = (await t.service.head('main')).treeSize;
    const list = (asOf: object) => t.prov.queryAudits('main', {}, {}, asOf);
    expect(await codeOf(list({ treeSize: 1, blockHeight: 0 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(list({ treeSize: head + 1 }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(list({ blockHeight: 10_000 }))).toBe('NOT_FOUND');
  });

  it('follows a chain of supersessions to the first assertion, with sources, events, blocks and a covering checkpoint', async () => {
    const src = await t.prov.recordSource('main', { locator: 'chain', contentHash: sha('chain') }, 'c');
    let previous: string | undefined;
    const hashes: string[] = [];
    for (let v = 0; v < 10; v++) {
      const a = await t.prov.recordAssertion('main', { subject: 'chain/x', predicate: 'v', value: v, lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash, supersedes: previous }, 'c');
      hashes.push(a.hash);
      previous = a.hash;
    }
    const pending = await t.prov.provenance('main', previous!);
    expect(pending.checkpoint).toBeNull();
    const cp = await t.service.createCheckpoint('main');
    const chain = await t.prov.provenance('main', previous!);
    expect(chain.links.map((l) => l.assertion.hash)).toEqual([...hashes].reverse());
    expect(chain.links.map((l) => l.depth)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const l of chain.links) {
      expect(l.event.id).toBe(l.assertion.eventId);
      expect(l.event.type).toBe('AssertionRecorded');
      expect(l.source?.locator).toBe('chain');
      expect(l.block).not.toBeNull();
      expect(await t.service.blockHeightOf('main', l.event.index)).toBe(l.block!.height);
      expect(l.block!.startIndex <= l.event.index && l.event.index < l.block!.treeSize).toBe(true);
    }
    expect(chain.checkpoint?.treeSize).toBe(cp.treeSize);
    expect(chain.links[0]!.assertion.supersededBy).toBeNull();
    expect(chain.links[1]!.assertion.supersededBy).toBe(hashes[9]);
  });

  it('cuts a chain at MAX_CHAIN_DEPTH links and says so only when there is more', async () => {
    const src = await t.prov.recordSource('main', { locator: 'long', contentHash: sha('long') }, 'c');
    const inputs: AssertionInput[] = [];
    for (let v = 0; v <= MAX_CHAIN_DEPTH; v++) {
      const a = { subject: 'long/x', predicate: 'v', value: v, lifecycle: 'ACCEPTED' as const, confidence: 1, sourceHash: src.contentHash, supersedes: inputs.at(-1) && assertionPayload(inputs.at(-1)!).hash };
      inputs.push(a);
    }
    // Two appends: one call carries at most 1,000 events.
    await t.prov.recordAssertions('main', inputs.slice(0, 500), 'c');
    await t.prov.recordAssertions('main', inputs.slice(500), 'c');
    const hashes = inputs.map((i) => assertionPayload(i).hash);
    // Exactly MAX_CHAIN_DEPTH links back to the first: whole, not cut.
    const whole = await t.prov.provenance('main', hashes[MAX_CHAIN_DEPTH - 1]!);
    expect(whole.links).toHaveLength(MAX_CHAIN_DEPTH);
    expect(whole.links.at(-1)!.assertion.hash).toBe(hashes[0]);
    expect(whole.truncated).toBe(false);
    // One more: MAX_CHAIN_DEPTH links, and the answer says the chain goes on.
    const cut = await t.prov.provenance('main', hashes[MAX_CHAIN_DEPTH]!);
    expect(cut.links).toHaveLength(MAX_CHAIN_DEPTH);
    expect(cut.links.at(-1)!.assertion.hash).toBe(hashes[1]);
    expect(cut.truncated).toBe(true);
  });

  it('traces one agent in a time window and a subject glob, oldest first, and says when it cut the list', async () => {
    const start = Date.now();
    await tick();
    const subjects = ['auth/a', 'db/a', 'auth/b', 'auth/c/d', 'auth/e'];
    for (const subject of subjects) await t.prov.recordQuery('main', { agentId: 'tracer', subject, predicate: 'p', result: subject, contributingAssertions: [] }, 'tracer');
    await t.prov.recordQuery('main', { agentId: 'someone-else', subject: 'auth/a', predicate: 'p', result: 0, contributingAssertions: [] }, 'x');
    const all = await t.prov.trace('main', { agent: 'tracer', sinceMs: start, untilMs: Date.now() + 1000, subject: 'auth/*' });
    expect(all.lines.map((l) => l.subject)).toEqual(['auth/a', 'auth/b', 'auth/e']);
    expect(all.truncated).toBe(false);
    const cut = await t.prov.trace('main', { agent: 'tracer', sinceMs: start, untilMs: Date.now() + 1000, first: 2 });
    expect(cut.lines.map((l) => l.subject)).toEqual(['auth/a', 'db/a']);
    expect(cut.truncated).toBe(true);
    expect((await t.prov.trace('main', { agent: 'tracer', sinceMs: 0, untilMs: start })).lines).toEqual([]);
    expect(await codeOf(t.prov.trace('main', { agent: 'tracer', sinceMs: 10, untilMs: 5 }))).toBe('BAD_USER_INPUT');
    for (const blockHeight of [-1, 1.5]) expect(await codeOf(t.prov.trace('main', { agent: 'tracer', sinceMs: 0 }, { blockHeight }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.prov.trace('main', { agent: 'tracer', sinceMs: 0 }, { blockHeight: 1_000_000 }))).toBe('NOT_FOUND');
  });

  it('traces up to the newest audit when no end is given, though the ledger\'s clock runs ahead of the reader\'s', async () => {
    await t.service.createLedger('ahead', {});
    // Any writer may stamp an event up to the allowed skew ahead; every later event follows its clock.
    const ahead = Date.now() + 30_000;
    await t.service.append('ahead', [{ type: 'clock', actor: 'x', parents: [], hlc: { physicalMs: ahead, logical: 0 } }]);
    const q = await t.prov.recordQuery('ahead', { agentId: 'late-agent', subject: 'auth/a', predicate: 'p', result: 1, contributingAssertions: [] }, 'late-agent');
    expect(q.time.getTime()).toBeGreaterThanOrEqual(ahead);
    const since = Date.now() - 60_000;
    expect((await t.prov.trace('ahead', { agent: 'late-agent', sinceMs: since })).lines.map((l) => l.queryId)).toEqual([q.queryId]);
    expect((await t.prov.trace('ahead', { agent: 'late-agent', sinceMs: since, untilMs: Date.now() })).lines).toEqual([]);
  });
});
