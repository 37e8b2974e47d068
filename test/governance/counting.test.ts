import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

// Quorum, approval and the voting window at their exact edges, on a ledger whose supply is
// known to the token: each assertion sits where a comparison off by one would change the outcome.

let t: TestGovernance;
beforeAll(async () => {
  t = await openGovernance({ CHAINPROOF_GOV_MAX_LIVE_PROPOSALS: '20' });
});
afterAll(async () => t?.close());

const refused = async (act: () => Promise<unknown>, code: string) => {
  const before = await t.treeSize();
  await expect(act()).rejects.toMatchObject({ code });
  expect(await t.treeSize()).toBe(before);
};
const state = async (id: string) => (await t.gov.proposal(id))!.state;

describe('quorum and approval at their edges', () => {
  it('count FOR and ABSTAIN toward quorum, FOR against AGAINST toward approval, and nothing for no one', async () => {
    // No tokens exist yet: at this proposal's snapshot the supply is zero.
    const empty = await t.gov.createProposal('gov', proposalInput({ quorum: 0.04 }));
    const emptyNoQuorum = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    const minted = await t.gov.mint('admin', 'a', '60', 'x'); // the first leaf once voting opened: empty's snapshot
    await t.gov.mint('admin', 'b', '40', 'x');
    await t.gov.mint('admin', 'c', '300', 'x');
    await t.gov.mint('admin', 'd', '600', 'x');
    const none = (await t.gov.proposal(empty.id))!;
    expect(none.snapshot).toBe(minted.index);
    expect(none.supplyAtSnapshot).toBe(0n);
    expect(none.tally.quorumReached).toBe(false); // 0 of 0 is no quorum of 4 %
    // A quorum of nothing is reached even on no supply; still, nothing passes without a FOR vote.
    expect((await t.gov.proposal(emptyNoQuorum.id))!.tally).toMatchObject({ quorumReached: true, quorumRequired: 0n });

    // Power is read from the leaves before a snapshot, never the snapshot leaf itself.
    expect(await t.gov.votingPowerAt('a', minted.index)).toBe(0n);
    expect(await t.gov.votingPowerAt('a', minted.index + 1)).toBe(60n);

    const exact = await t.gov.createProposal('gov', proposalInput({ quorum: 0.1 }));
    const abstainers = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    const threshold = await t.gov.createProposal('gov', proposalInput({ quorum: 0.0505, threshold: 0.6 }));
    expect([threshold.quorum, threshold.threshold]).toEqual([0.0505, 0.6]);
    const silent = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    const onlyAbstain = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    const vote = (voter: string, id: string, choice: 'FOR' | 'AGAINST' | 'ABSTAIN') => t.gov.castVote(voter, { proposalId: id, choice });

    // Supply 1000, quorum 10 %: 60 FOR + 40 ABSTAIN is exactly the 100 required.
    await vote('a', exact.id, 'FOR');
    await vote('b', exact.id, 'ABSTAIN');
    expect((await t.gov.proposal(exact.id))!.tally).toMatchObject({ quorumRequired: 100n, quorumReached: true });

    // ABSTAIN is no approval: 60 FOR against 300 AGAINST fails whatever 600 abstain.
    await vote('a', abstainers.id, 'FOR');
    await vote('c', abstainers.id, 'AGAINST');
    await vote('d', abstainers.id, 'ABSTAIN');

    // Exactly 60 % FOR of FOR + AGAINST meets a 60 % threshold; a quorum of 50.5 tokens needs 51.
    await vote('a', threshold.id, 'FOR');
    await vote('b', threshold.id, 'AGAINST');
    expect((await t.gov.proposal(threshold.id))!.tally).toMatchObject({ quorumRequired: 51n, quorumReached: true });

    await vote('d', onlyAbstain.id, 'ABSTAIN');
    t.advance(60);

    expect(await state(exact.id)).toBe('SUCCEEDED');
    expect(await state(abstainers.id)).toBe('DEFEATED');
    expect(await state(threshold.id)).toBe('SUCCEEDED');
    // Without a single FOR vote nothing passes, even with no quorum asked for.
    expect(await state(silent.id)).toBe('DEFEATED');
    expect(await state(onlyAbstain.id)).toBe('DEFEATED');
    expect(await state(empty.id)).toBe('DEFEATED');
    expect(await state(emptyNoQuorum.id)).toBe('DEFEATED');
  });
});

describe('the voting window and the timelock at their edges', () => {
  it('vote from the first millisecond of the window to the last before its end; execute from the first millisecond after the timelock to the last of the grace period', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0, timelock: 30 }));
    const late = await t.gov.createProposal('gov', proposalInput({ quorum: 0, timelock: 30 }));
    const start = p.voteStart.getTime();
    const end = p.voteEnd.getTime();
    vi.setSystemTime(start - 1);
    expect(await state(p.id)).toBe('PENDING');
    await refused(() => t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' }), 'VOTING_CLOSED');
    vi.setSystemTime(start);
    expect(await state(p.id)).toBe('ACTIVE');
    await t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' });
    await t.gov.castVote('a', { proposalId: late.id, choice: 'FOR' });
    vi.setSystemTime(end - 1);
    await t.gov.castVote('b', { proposalId: p.id, choice: 'FOR' });
    vi.setSystemTime(end);
    await refused(() => t.gov.castVote('c', { proposalId: p.id, choice: 'AGAINST' }), 'VOTING_CLOSED');
    expect((await t.gov.proposal(p.id))!.tally).toMatchObject({ forPower: 100n, againstPower: 0n, voters: 2 });

    const queued = await t.gov.queue('gov', p.id);
    const lateQueued = await t.gov.queue('gov', late.id);
    const eta = queued.executableAt!.getTime();
    vi.setSystemTime(eta - 1);
    await refused(() => t.gov.execute('gov', p.id), 'TIMELOCK_PENDING');
    vi.setSystemTime(eta);
    expect((await t.gov.execute('gov', p.id)).state).toBe('EXECUTED');
    // The grace period's last millisecond is still inside it.
    vi.setSystemTime(lateQueued.executableAt!.getTime() + lateQueued.grace * 1000);
    expect(await state(late.id)).toBe('QUEUED');
    expect((await t.gov.execute('gov', late.id)).state).toBe('EXECUTED');
  });
});

describe('the windows a proposal opens', () => {
  it('voting opens votingDelay seconds after creation and lasts votingPeriod seconds from its opening', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0, votingDelay: 10, votingPeriod: 60 }));
    expect(p.voteStart.getTime() - p.createdAt.getTime()).toBe(10_000);
    expect(p.voteEnd.getTime() - p.voteStart.getTime()).toBe(60_000);
    vi.setSystemTime(p.createdAt.getTime() + 70_000 - 1); // the last millisecond of the period
    expect(await state(p.id)).toBe('ACTIVE');
    await t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' });
    vi.setSystemTime(p.createdAt.getTime() + 70_000);
    expect(await state(p.id)).toBe('SUCCEEDED');
  });

  it('the timelock runs from queueing, not from the end of voting', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0, timelock: 30 }));
    t.advance(11);
    await t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' });
    vi.setSystemTime(p.voteEnd.getTime() + 100_000); // queued long after voting ended
    const queued = await t.gov.queue('gov', p.id);
    expect(queued.executableAt!.getTime()).toBe(p.voteEnd.getTime() + 130_000);
    t.advance(29);
    await refused(() => t.gov.execute('gov', p.id), 'TIMELOCK_PENDING');
    t.advance(1);
    expect((await t.gov.execute('gov', p.id)).state).toBe('EXECUTED');
  });

  it('shows the snapshot before anyone votes: the leaf written at the very millisecond voting opens, the one the first vote then keeps', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    const pending = (await t.gov.proposal(p.id))!;
    expect([pending.snapshot, pending.supplyAtSnapshot]).toEqual([null, null]);
    vi.setSystemTime(p.voteStart.getTime());
    expect((await t.gov.proposal(p.id))!.snapshot).toBeNull(); // open, but no leaf written since
    const opening = await t.gov.mint('admin', 'a', '1', 'x');
    const open = (await t.gov.proposal(p.id))!;
    expect(open.snapshot).toBe(opening.index);
    t.advance(1);
    await t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' });
    expect((await t.gov.proposal(p.id))!.snapshot).toBe(opening.index);
    t.advance(60);
  });

  it('a proposal that opens at once takes as its snapshot the first leaf after it, never its own', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0, votingDelay: 0 }));
    expect(p.voteStart.getTime()).toBe(p.createdAt.getTime());
    // Open from its own leaf, but its snapshot is a leaf written once voting opened, after it.
    expect((await t.gov.proposal(p.id))!).toMatchObject({ state: 'ACTIVE', snapshot: null });
    const vote = await t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' });
    expect((await t.gov.proposal(p.id))!.snapshot).toBe(vote.index);
    t.advance(61);
  });

  it('before its snapshot a proposal reports no quorum reached, even one that asks for none', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    expect(p.tally).toMatchObject({ quorumReached: false, quorumRequired: null });
    t.advance(71);
  });
});

describe('quadratic counting decides the outcome', () => {
  it('three holders of 100 outvote one holder of 400 quadratically (30 to 20), though not in tokens (300 to 400)', async () => {
    for (const [to, amount] of [['s1', '100'], ['s2', '100'], ['s3', '100'], ['big', '400']] as const) await t.gov.mint('admin', to, amount, 'x');
    const weighted = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    const quadratic = await t.gov.createProposal('gov', proposalInput({ quorum: 0, votingType: 'QUADRATIC' }));
    t.advance(11);
    for (const id of [weighted.id, quadratic.id]) {
      for (const s of ['s1', 's2', 's3']) await t.gov.castVote(s, { proposalId: id, choice: 'FOR' });
      await t.gov.castVote('big', { proposalId: id, choice: 'AGAINST' });
    }
    t.advance(60);
    const w = (await t.gov.proposal(weighted.id))!;
    const q = (await t.gov.proposal(quadratic.id))!;
    expect(w.tally).toMatchObject({ for: '300', against: '400' });
    expect(q.tally).toMatchObject({ for: '30.000000', against: '20.000000', forPower: 300n, againstPower: 400n });
    expect(w.state).toBe('DEFEATED');
    expect(q.state).toBe('SUCCEEDED');
  });
});
