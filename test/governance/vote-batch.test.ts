import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatWeight, quadraticWeight } from '../../src/governance/amount.js';
import { GovernanceProjector } from '../../src/governance/projector.js';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

/**
 * Votes that arrive together are group-committed and projected in one pass (projectVotes).
 * Their outcome must be what projecting them one at a time gives — which is what replay does,
 * so `replay()` agreeing with the live tables is the check, alongside tallies worked out by hand.
 */
let t: TestGovernance;
/** VoteCast events per projector call that succeeded. */
const votesPerCall: number[] = [];
beforeAll(async () => {
  t = await openGovernance();
  const applyAll = GovernanceProjector.prototype.applyAll;
  vi.spyOn(GovernanceProjector.prototype, 'applyAll').mockImplementation(async function (this: GovernanceProjector, tx, events) {
    // Counted only once projected: a batch that threw would be retried one vote at a time and could still pass.
    const votes = await applyAll.call(this, tx, events);
    votesPerCall.push(events.filter((e) => e.type === 'VoteCast').length);
    return votes;
  });
  for (const [to, amount] of [['a', '900'], ['b', '100'], ['c', '49'], ['d', '30'], ['e', '20']] as const) await t.gov.mint('admin', to, amount, 'x');
  await t.gov.delegate('c', 'a');
  await t.gov.delegate('d', 'a');
  await t.gov.delegate('e', 'b');
});
afterAll(async () => {
  vi.restoreAllMocks();
  await t?.close();
});

describe('votes projected together', () => {
  it('decide each vote against the ones before it in the same commit', async () => {
    const w = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    const q = await t.gov.createProposal('gov', proposalInput({ votingType: 'QUADRATIC', quorum: 0 }));
    t.advance(11);
    votesPerCall.length = 0;
    const cast = (voter: string, proposalId: string, choice: 'FOR' | 'AGAINST' | 'ABSTAIN') => t.gov.castVote(voter, { proposalId, choice });
    // The mint commits alone; the votes queue behind it and share the next commit, which also fixes both snapshots.
    const [, aW, cW, dW, eW, bW, aQ, cQ, bQ] = await Promise.all([
      t.gov.mint('admin', 'z', '5', 'after the snapshot'),
      cast('a', w.id, 'FOR'), // delegate first: 900 + 49 (c) + 30 (d)
      cast('c', w.id, 'AGAINST'), // delegator after its delegate, same commit: takes 49 back from a
      cast('d', w.id, 'FOR'), // and another: a is down to 900
      cast('e', w.id, 'ABSTAIN'), // delegator before its delegate
      cast('b', w.id, 'AGAINST'), // 100 + 20 (e) − 20 e took back
      cast('a', q.id, 'FOR'),
      cast('c', q.id, 'FOR'),
      cast('b', q.id, 'AGAINST'),
    ]);
    expect(Math.max(...votesPerCall)).toBeGreaterThanOrEqual(8);

    // Each caller is answered with its vote as cast, as if cast alone.
    expect([aW, cW, dW, eW, bW].map((v) => v!.power)).toEqual([979n, 49n, 30n, 20n, 100n]);
    expect([aQ, cQ, bQ].map((v) => v!.power)).toEqual([979n, 49n, 120n]);
    expect((await t.gov.vote(w.id, 'a'))!.power).toBe(900n);
    expect((await t.gov.vote(q.id, 'a'))!.power).toBe(930n);

    expect((await t.gov.proposal(w.id))!.tally).toMatchObject({ forPower: 930n, againstPower: 149n, abstainPower: 20n, voters: 5 });
    const qt = (await t.gov.proposal(q.id))!.tally;
    expect(qt).toMatchObject({ forPower: 979n, againstPower: 120n, abstainPower: 0n, voters: 3 });
    expect(qt.for).toBe(formatWeight(quadraticWeight(930n) + quadraticWeight(49n), true));
    expect(qt.against).toBe(formatWeight(quadraticWeight(120n), true));

    // The snapshot excludes the mint that opened it (written first, it is the snapshot leaf).
    expect((await t.gov.proposal(w.id))!.supplyAtSnapshot).toBe(1099n);

    const r = await t.gov.replay();
    expect(r.mismatchedTables).toEqual([]);
    expect(r.refused).toBeUndefined();
    expect(r.ok).toBe(true);
    t.advance(60); // voting over: the proposer's live proposals make room
  });

  it("delegators in one commit each take their weight back from their delegate's earlier vote", async () => {
    for (const [to, amount] of [['rep', '50'], ['d1', '30'], ['d2', '20']] as const) await t.gov.mint('admin', to, amount, 'x');
    await t.gov.delegate('d1', 'rep');
    await t.gov.delegate('d2', 'rep');
    const q = await t.gov.createProposal('gov', proposalInput({ votingType: 'QUADRATIC', quorum: 0 }));
    t.advance(11);
    expect((await t.gov.castVote('rep', { proposalId: q.id, choice: 'FOR' })).power).toBe(100n);
    votesPerCall.length = 0;
    const [, d1, d2] = await Promise.all([
      t.gov.mint('admin', 'z', '1', 'flush'),
      t.gov.castVote('d1', { proposalId: q.id, choice: 'AGAINST' }),
      t.gov.castVote('d2', { proposalId: q.id, choice: 'ABSTAIN' }),
    ]);
    expect(votesPerCall).toContain(2);
    expect([d1.power, d2.power]).toEqual([30n, 20n]);
    expect((await t.gov.vote(q.id, 'rep'))!.power).toBe(50n);
    const tally = (await t.gov.proposal(q.id))!.tally;
    expect(tally).toMatchObject({ forPower: 50n, againstPower: 30n, abstainPower: 20n, voters: 3 });
    expect([tally.for, tally.against, tally.abstain]).toEqual([50n, 30n, 20n].map((p) => formatWeight(quadraticWeight(p), true)));
    expect((await t.gov.replay()).ok).toBe(true);
    t.advance(60);
  });

  it('a voter voting twice in one commit is counted once', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    votesPerCall.length = 0;
    const settled = await Promise.allSettled([
      t.gov.mint('admin', 'z', '1', 'flush'),
      t.gov.castVote('b', { proposalId: p.id, choice: 'FOR' }),
      t.gov.castVote('b', { proposalId: p.id, choice: 'AGAINST' }),
    ]);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as { code: string }).code : 'ok'))).toEqual(['ok', 'ok', 'ALREADY_VOTED']);
    expect((await t.gov.proposal(p.id))!.tally).toMatchObject({ forPower: 120n, againstPower: 0n, voters: 1 });
    expect((await t.gov.replay()).ok).toBe(true);
    t.advance(60);
  });

  it('a refused vote in a commit fails alone; the votes beside it land', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    await t.gov.castVote('b', { proposalId: p.id, choice: 'FOR' });
    const settled = await Promise.allSettled([
      t.gov.mint('admin', 'z', '1', 'flush'),
      t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' }),
      t.gov.castVote('b', { proposalId: p.id, choice: 'AGAINST' }), // voted already
      t.gov.castVote('nobody', { proposalId: p.id, choice: 'AGAINST' }), // no power at the snapshot
      t.gov.castVote('c', { proposalId: p.id, choice: 'AGAINST' }),
    ]);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as { code: string }).code : 'ok'))).toEqual(['ok', 'ok', 'ALREADY_VOTED', 'NO_VOTING_POWER', 'ok']);
    expect((await t.gov.proposal(p.id))!.tally).toMatchObject({ forPower: 120n + 930n, againstPower: 49n, voters: 3 });
    expect((await t.gov.replay()).ok).toBe(true);
  });

  it('delegators voting before their delegate in one commit each take their weight back from it', async () => {
    for (const [to, amount] of [['rep2', '50'], ['d3', '30'], ['d4', '20']] as const) await t.gov.mint('admin', to, amount, 'x');
    await t.gov.delegate('d3', 'rep2');
    await t.gov.delegate('d4', 'rep2');
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    votesPerCall.length = 0;
    const [, d3, d4, rep] = await Promise.all([
      t.gov.mint('admin', 'z', '1', 'flush'),
      t.gov.castVote('d3', { proposalId: p.id, choice: 'AGAINST' }),
      t.gov.castVote('d4', { proposalId: p.id, choice: 'AGAINST' }),
      t.gov.castVote('rep2', { proposalId: p.id, choice: 'FOR' }),
    ]);
    expect(votesPerCall).toContain(3);
    expect([d3.power, d4.power, rep.power]).toEqual([30n, 20n, 50n]);
    expect((await t.gov.proposal(p.id))!.tally).toMatchObject({ forPower: 50n, againstPower: 50n, voters: 3 });
    expect((await t.gov.replay()).ok).toBe(true);
    t.advance(60);
  });
});
