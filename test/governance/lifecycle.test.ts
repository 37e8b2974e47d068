import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { governanceInput } from '../../src/governance/events.js';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

let t: TestGovernance;
beforeAll(async () => {
  t = await openGovernance();
});
afterAll(async () => t?.close());

const rejects = async (act: () => Promise<unknown>, code: string) => {
  const before = await t.treeSize();
  await expect(act()).rejects.toMatchObject({ code });
  expect(await t.treeSize()).toBe(before); // a refusal writes nothing
};

describe('tokens', () => {
  it('mints, transfers and burns exact integers, never below zero', async () => {
    await t.gov.mint('admin', 'alice', '1000000000000000000000000', 'genesis'); // 10^24: beyond any float
    await t.gov.transfer('alice', 'bob', '1');
    await t.gov.burn('alice', '999999999999999999999998');
    expect((await t.gov.account('alice')).balance).toBe(1n);
    expect((await t.gov.account('bob')).balance).toBe(1n);
    await rejects(() => t.gov.transfer('alice', 'bob', '2'), 'INSUFFICIENT_BALANCE');
    await rejects(() => t.gov.burn('carol', '1'), 'INSUFFICIENT_BALANCE');
    await rejects(() => t.gov.mint('admin', 'alice', '1.5', 'x'), 'BAD_USER_INPUT');
    await rejects(() => t.gov.mint('admin', 'alice', '0', 'x'), 'BAD_USER_INPUT');
    await rejects(() => t.gov.transfer('alice', 'alice', '1'), 'BAD_USER_INPUT');
    const history = await t.gov.history('alice', {});
    expect(history.items.map((i) => [i.node.kind, i.node.delta.toString(), i.node.balance.toString()])).toEqual([
      ['mint', '1000000000000000000000000', '1000000000000000000000000'],
      ['transfer-out', '-1', '999999999999999999999999'],
      ['burn', '-999999999999999999999998', '1'],
    ]);
    expect((await t.gov.history('bob', {})).items.map((i) => [i.node.kind, i.node.delta.toString(), i.node.balance.toString()])).toEqual([['transfer-in', '1', '1']]);
  });

  it('delegation moves the whole voting power and can be changed or taken back', async () => {
    await t.gov.mint('admin', 'dora', '50', 'x');
    await t.gov.mint('admin', 'ed', '20', 'x');
    expect((await t.gov.account('dora')).votingPower).toBe(50n);
    await t.gov.delegate('dora', 'ed');
    expect((await t.gov.account('dora')).votingPower).toBe(0n);
    expect((await t.gov.account('ed')).votingPower).toBe(70n);
    expect(await t.gov.delegators('ed')).toEqual(['dora']);
    await t.gov.transfer('dora', 'frank', '10'); // the delegate's power follows the delegator's balance
    expect((await t.gov.account('ed')).votingPower).toBe(60n);
    await t.gov.delegate('dora', 'frank');
    expect((await t.gov.account('ed')).votingPower).toBe(20n);
    expect((await t.gov.account('frank')).votingPower).toBe(50n);
    await t.gov.delegate('dora', null);
    expect((await t.gov.account('dora')).votingPower).toBe(40n);
    await rejects(() => t.gov.delegate('dora', null), 'CONFLICT');
    // Delegating to oneself is taking the power back, not a delegation.
    await rejects(() => t.gov.delegate('dora', 'dora'), 'CONFLICT');
    await t.gov.delegate('dora', 'ed');
    await t.gov.delegate('dora', 'dora');
    expect(await t.gov.account('dora')).toMatchObject({ delegate: null, votingPower: 40n });
    expect((await t.gov.account('ed')).votingPower).toBe(20n);
    // One level: power delegated to a delegate that delegates stays with that delegate.
    await t.gov.delegate('frank', 'ed');
    await t.gov.delegate('dora', 'frank');
    expect((await t.gov.account('frank')).votingPower).toBe(40n);
    expect((await t.gov.account('ed')).votingPower).toBe(30n);
  });
  it('a delegation to oneself that reaches the projection is no delegation, so an own balance never counts twice', async () => {
    await t.gov.mint('admin', 'selfish', '10', 'x');
    // The service writes a delegation to oneself as taking the power back; the projection, which
    // replay also runs, holds to that whatever the event says.
    const append = (t.gov as unknown as { append(inputs: unknown[]): Promise<unknown> }).append.bind(t.gov);
    await rejects(() => append([governanceInput('DelegateChanged', 'selfish', 'account/selfish', { account: 'selfish', delegate: 'selfish' })]), 'CONFLICT');
    expect(await t.gov.account('selfish')).toMatchObject({ delegate: null, votingPower: 10n });
  });
});

describe('delegation cycles', () => {
  it('two accounts delegating to each other each carry the other\'s power, tokens still move, and each voting takes its own back', async () => {
    await t.gov.mint('admin', 'cyc1', '10', 'x');
    await t.gov.mint('admin', 'cyc2', '20', 'x');
    await t.gov.delegate('cyc1', 'cyc2');
    await t.gov.delegate('cyc2', 'cyc1');
    expect((await t.gov.account('cyc1')).votingPower).toBe(20n);
    expect((await t.gov.account('cyc2')).votingPower).toBe(10n);
    await t.gov.transfer('cyc1', 'cyc-out', '4');
    await t.gov.mint('admin', 'cyc2', '1', 'x');
    expect(await t.gov.account('cyc1')).toMatchObject({ balance: 6n, votingPower: 21n });
    expect(await t.gov.account('cyc2')).toMatchObject({ balance: 21n, votingPower: 6n });
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    expect((await t.gov.castVote('cyc1', { proposalId: p.id, choice: 'FOR' })).power).toBe(27n); // 21 delegated + 6 its own
    expect((await t.gov.castVote('cyc2', { proposalId: p.id, choice: 'AGAINST' })).power).toBe(21n);
    expect((await t.gov.proposal(p.id))!.tally).toMatchObject({ forPower: 6n, againstPower: 21n, voters: 2 });
    t.advance(60);
  });
});

describe('a proposal from creation to execution', () => {
  it('passes, queues, waits out the timelock and mints atomically', async () => {
    await t.gov.mint('admin', 'v1', '600', 'x');
    await t.gov.mint('admin', 'v2', '400', 'x');
    const p = await t.gov.createProposal('gov', proposalInput());
    expect(p.state).toBe('PENDING');
    await rejects(() => t.gov.castVote('v1', { proposalId: p.id, choice: 'FOR' }), 'VOTING_CLOSED');
    t.advance(11);
    expect((await t.gov.proposal(p.id))!.state).toBe('ACTIVE');
    const v1 = await t.gov.castVote('v1', { proposalId: p.id, choice: 'FOR', reason: 'on-call deserves it' });
    expect(v1.power).toBe(600n);
    // The answer is what the projection wrote: the same as reading the vote back.
    expect(v1).toEqual(await t.gov.vote(p.id, 'v1'));
    expect(v1).toMatchObject({ reason: 'on-call deserves it', delegateAtSnapshot: null, signature: null });
    await t.gov.castVote('v2', { proposalId: p.id, choice: 'AGAINST' });
    const active = (await t.gov.proposal(p.id))!;
    expect(active.tally).toMatchObject({ for: '600', against: '400', abstain: '0', voters: 2, quorumReached: true });
    expect(active.snapshot).toBeGreaterThan(p.index);
    await rejects(() => t.gov.queue('gov', p.id), 'PROPOSAL_STATE'); // still active
    t.advance(60);
    expect((await t.gov.proposal(p.id))!.state).toBe('SUCCEEDED');
    const queued = await t.gov.queue('gov', p.id);
    expect(queued.state).toBe('QUEUED');
    await rejects(() => t.gov.execute('gov', p.id), 'TIMELOCK_PENDING');
    t.advance(31);
    const before = (await t.gov.account('oncall')).balance;
    const done = await t.gov.execute('gov', p.id);
    expect(done.state).toBe('EXECUTED');
    expect((await t.gov.account('oncall')).balance).toBe(before + 100n);
    await rejects(() => t.gov.execute('gov', p.id), 'PROPOSAL_STATE'); // not twice
  });

  it('changes a ledger parameter when executed, in effect at once', async () => {
    const { blockSize } = await t.service.ledger('main');
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0, actions: [{ setParameter: { ledger: 'main', name: 'blockSize', value: String(blockSize + 7) } }] }));
    t.advance(11);
    await t.gov.castVote('v1', { proposalId: p.id, choice: 'FOR' });
    t.advance(60);
    await t.gov.queue('gov', p.id);
    t.advance(31);
    expect((await t.service.ledger('main')).blockSize).toBe(blockSize);
    await t.gov.execute('gov', p.id);
    expect((await t.service.ledger('main')).blockSize).toBe(blockSize + 7);
  });

  it('is defeated without quorum, and a defeated proposal cannot be queued or executed', async () => {
    await t.gov.mint('admin', 'whale', '100000', 'x');
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0.5 }));
    t.advance(11);
    await t.gov.castVote('v2', { proposalId: p.id, choice: 'FOR' });
    t.advance(60);
    const ended = (await t.gov.proposal(p.id))!;
    expect(ended.tally.quorumReached).toBe(false);
    expect(ended.state).toBe('DEFEATED');
    await rejects(() => t.gov.queue('gov', p.id), 'PROPOSAL_STATE');
    await rejects(() => t.gov.execute('gov', p.id), 'PROPOSAL_STATE');
  });

  it('expires when queued past its grace period', async () => {
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    await t.gov.castVote('v1', { proposalId: p.id, choice: 'FOR' });
    t.advance(60);
    const queued = await t.gov.queue('gov', p.id);
    expect(queued.grace).toBe(t.config.governance.graceS);
    t.advance(30 + t.config.governance.graceS); // the timelock and the whole grace period
    expect((await t.gov.proposal(p.id))!.state).toBe('QUEUED');
    t.advance(0.001);
    expect((await t.gov.proposal(p.id))!.state).toBe('EXPIRED');
    await rejects(() => t.gov.execute('gov', p.id), 'PROPOSAL_STATE');
  });

  it('can be canceled by its proposer while pending, and only then', async () => {
    const p = await t.gov.createProposal('gov', proposalInput());
    await rejects(() => t.gov.cancel('someone-else', p.id), 'FORBIDDEN');
    expect((await t.gov.cancel('gov', p.id)).state).toBe('CANCELED');
    const q = await t.gov.createProposal('gov', proposalInput());
    t.advance(11);
    await rejects(() => t.gov.cancel('gov', q.id), 'PROPOSAL_STATE');
    t.advance(60);
  });
});

describe('counting', () => {
  it('quadratic: each voter weighs √power', async () => {
    await t.gov.mint('admin', 'q1', '10000', 'x');
    await t.gov.mint('admin', 'q2', '100', 'x');
    await t.gov.mint('admin', 'q3', '2', 'x');
    const p = await t.gov.createProposal('gov', proposalInput({ votingType: 'QUADRATIC', quorum: 0 }));
    t.advance(11);
    await t.gov.castVote('q1', { proposalId: p.id, choice: 'AGAINST' });
    await t.gov.castVote('q2', { proposalId: p.id, choice: 'FOR' });
    const v3 = await t.gov.castVote('q3', { proposalId: p.id, choice: 'FOR' });
    expect(v3.weight).toBe('1.414213');
    expect(v3).toEqual(await t.gov.vote(p.id, 'q3'));
    const tally = (await t.gov.proposal(p.id))!.tally;
    expect(tally).toMatchObject({ for: '11.414213', against: '100.000000', forPower: 102n, againstPower: 10000n });
    t.advance(60);
  });

  it('delegator override: a delegator that votes takes its weight back from its delegate, in either order', async () => {
    await t.gov.mint('admin', 'd1', '30', 'x');
    await t.gov.mint('admin', 'd2', '20', 'x');
    await t.gov.mint('admin', 'rep', '50', 'x');
    await t.gov.delegate('d1', 'rep');
    await t.gov.delegate('d2', 'rep');
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
    t.advance(11);
    const d1 = await t.gov.castVote('d1', { proposalId: p.id, choice: 'AGAINST' }); // before its delegate
    expect(d1).toEqual(await t.gov.vote(p.id, 'd1'));
    expect(d1.delegateAtSnapshot).toBe('rep');
    const rep = await t.gov.castVote('rep', { proposalId: p.id, choice: 'FOR' });
    expect(rep.power).toBe(70n); // 50 own + 20 of d2; d1 voted itself
    await t.gov.castVote('d2', { proposalId: p.id, choice: 'ABSTAIN' }); // after its delegate
    expect((await t.gov.vote(p.id, 'rep'))!.power).toBe(50n);
    expect((await t.gov.proposal(p.id))!.tally).toMatchObject({ forPower: 50n, againstPower: 30n, abstainPower: 20n, voters: 3 });
    t.advance(60);
  });
});
