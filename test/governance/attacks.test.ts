import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { voteMessageBytes } from '../../src/governance/vote-message.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

// Each attack from the governance threat list, attempted for real; each must be refused with
// its code and leave the ledger exactly as it was.

let t: TestGovernance;
beforeAll(async () => {
  t = await openGovernance({ CHAINPROOF_GOV_PROPOSAL_THRESHOLD: '100', CHAINPROOF_GOV_MAX_LIVE_PROPOSALS: '2' });
  await t.gov.mint('admin', 'proposer', '100', 'seed');
});
afterAll(async () => t?.close());

const refused = async (act: () => Promise<unknown>, code: string) => {
  const before = await t.treeSize();
  await expect(act()).rejects.toMatchObject({ code });
  expect(await t.treeSize()).toBe(before);
};

/** A proposal whose voting is open, created after `setup` ran inside its voting delay. */
async function openProposal(setup: (id: string) => Promise<void> = async () => {}, over: Record<string, unknown> = {}) {
  const p = await t.gov.createProposal('proposer', proposalInput({ quorum: 0, ...over }));
  await setup(p.id);
  t.advance(11);
  return p.id;
}
const closeVoting = () => t.advance(61);

describe('attacks on voting', () => {
  it('voting twice', async () => {
    await t.gov.mint('admin', 'twice', '10', 'x');
    const id = await openProposal();
    await t.gov.castVote('twice', { proposalId: id, choice: 'FOR' });
    await refused(() => t.gov.castVote('twice', { proposalId: id, choice: 'FOR' }), 'ALREADY_VOTED');
    await refused(() => t.gov.castVote('twice', { proposalId: id, choice: 'AGAINST' }), 'ALREADY_VOTED');
    expect((await t.gov.proposal(id))!.tally).toMatchObject({ forPower: 10n, againstPower: 0n, voters: 1 });
    closeVoting();
  });

  it('voting again with tokens transferred after the snapshot', async () => {
    await t.gov.mint('admin', 'giver', '40', 'x');
    const id = await openProposal();
    await t.gov.castVote('giver', { proposalId: id, choice: 'FOR' });
    await t.gov.transfer('giver', 'taker', '40');
    await refused(() => t.gov.castVote('taker', { proposalId: id, choice: 'FOR' }), 'NO_VOTING_POWER');
    expect((await t.gov.proposal(id))!.tally.forPower).toBe(40n);
    closeVoting();
  });

  it('voting, then delegating to a second voter after the snapshot', async () => {
    await t.gov.mint('admin', 'first', '30', 'x');
    await t.gov.mint('admin', 'second', '5', 'x');
    const id = await openProposal();
    await t.gov.castVote('first', { proposalId: id, choice: 'FOR' });
    await t.gov.delegate('first', 'second');
    const second = await t.gov.castVote('second', { proposalId: id, choice: 'FOR' });
    expect(second.power).toBe(5n); // not 35: the delegation came after the snapshot
    expect((await t.gov.proposal(id))!.tally.forPower).toBe(35n);
    closeVoting();
  });

  it('a delegator voting after its delegate takes back even a single token: none counts twice', async () => {
    await t.gov.mint('admin', 'one-token', '1', 'x');
    await t.gov.mint('admin', 'one-rep', '10', 'x');
    await t.gov.delegate('one-token', 'one-rep');
    const id = await openProposal();
    expect((await t.gov.castVote('one-rep', { proposalId: id, choice: 'FOR' })).power).toBe(11n);
    await t.gov.castVote('one-token', { proposalId: id, choice: 'AGAINST' });
    expect((await t.gov.vote(id, 'one-rep'))!.power).toBe(10n);
    expect((await t.gov.proposal(id))!.tally).toMatchObject({ forPower: 10n, againstPower: 1n, voters: 2 });
    closeVoting();
  });

  it('a flash of tokens minted and burned inside the voting delay has no weight', async () => {
    const id = await openProposal(async () => {
      await t.gov.mint('admin', 'flash', '1000000', 'loan');
      await t.gov.burn('flash', '1000000');
    });
    await refused(() => t.gov.castVote('flash', { proposalId: id, choice: 'FOR' }), 'NO_VOTING_POWER');
    closeVoting();
  });

  it('tokens minted after voting opens do not count', async () => {
    const id = await openProposal();
    await t.gov.mint('admin', 'late', '500', 'x');
    await refused(() => t.gov.castVote('late', { proposalId: id, choice: 'FOR' }), 'NO_VOTING_POWER');
    closeVoting();
  });

  it('delegating in the leaf that fixes the snapshot moves no power on that proposal', async () => {
    await t.gov.mint('admin', 'switcher', '30', 'x');
    await t.gov.mint('admin', 'switch-rep', '10', 'x');
    const id = await openProposal();
    const e = await t.gov.delegate('switcher', 'switch-rep'); // the first leaf once voting opened
    expect((await t.gov.proposal(id))!.snapshot).toBe(e.index);
    expect((await t.gov.castVote('switcher', { proposalId: id, choice: 'AGAINST' })).power).toBe(30n);
    expect((await t.gov.castVote('switch-rep', { proposalId: id, choice: 'FOR' })).power).toBe(10n);
    expect((await t.gov.proposal(id))!.tally).toMatchObject({ forPower: 10n, againstPower: 30n });
    closeVoting();
  });

  it('tokens a delegator receives in the leaf that fixes the snapshot do not vote when it takes its power back', async () => {
    await t.gov.mint('admin', 'receiver', '30', 'x');
    await t.gov.mint('admin', 'receiver-rep', '5', 'x');
    await t.gov.delegate('receiver', 'receiver-rep');
    const id = await openProposal();
    const e = await t.gov.mint('admin', 'receiver', '500', 'x'); // the first leaf once voting opened
    expect((await t.gov.proposal(id))!.snapshot).toBe(e.index);
    expect((await t.gov.castVote('receiver', { proposalId: id, choice: 'AGAINST' })).power).toBe(30n);
    expect((await t.gov.castVote('receiver-rep', { proposalId: id, choice: 'FOR' })).power).toBe(5n);
    expect((await t.gov.proposal(id))!.tally).toMatchObject({ forPower: 5n, againstPower: 30n });
    closeVoting();
  });

  it('a vote before the window opens or after it closes', async () => {
    await t.gov.mint('admin', 'early', '5', 'x');
    const p = await t.gov.createProposal('proposer', proposalInput({ quorum: 0 }));
    await refused(() => t.gov.castVote('early', { proposalId: p.id, choice: 'FOR' }), 'VOTING_CLOSED');
    t.advance(11 + 60);
    await refused(() => t.gov.castVote('early', { proposalId: p.id, choice: 'FOR' }), 'VOTING_CLOSED');
  });

  it('voting on a proposal its proposer canceled', async () => {
    await t.gov.mint('admin', 'late-voter', '10', 'x');
    const p = await t.gov.createProposal('proposer', proposalInput({ quorum: 0 }));
    await t.gov.cancel('proposer', p.id);
    t.advance(11); // inside what would have been its voting window
    await refused(() => t.gov.castVote('late-voter', { proposalId: p.id, choice: 'FOR' }), 'PROPOSAL_STATE');
    expect((await t.gov.proposal(p.id))!.tally).toMatchObject({ forPower: 0n, voters: 0 });
    closeVoting();
  });

  it('a forged vote signature, a signature for another proposal, and voting for someone else unsigned', async () => {
    const key = ed25519FromSeed(randomBytes(32));
    const did = didKeyFromPublicKey(key.publicKey);
    const mallory = ed25519FromSeed(randomBytes(32));
    await t.gov.mint('admin', did, '25', 'x');
    const other = await openProposal();
    const id = await t.gov.createProposal('proposer', proposalInput({ quorum: 0, votingDelay: 0 })).then((p) => p.id);
    const message = (proposalId: string) => voteMessageBytes({ origin: t.gov.votingOrigin, proposalId, voter: did, choice: 'FOR' });
    const forged = mallory.sign(message(id)).toString('hex');
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did, signature: forged }), 'BAD_SIGNATURE');
    const forOther = key.sign(message(other)).toString('hex');
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did, signature: forOther }), 'BAD_SIGNATURE');
    const flipped = key.sign(message(id)).toString('hex');
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'AGAINST', voter: did, signature: flipped }), 'BAD_SIGNATURE');
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did }), 'FORBIDDEN');
    // The signature covers the reason and the deployment too: neither can be swapped under it.
    const reasoned = key.sign(voteMessageBytes({ origin: t.gov.votingOrigin, proposalId: id, voter: did, choice: 'FOR', reason: 'as signed' })).toString('hex');
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did, reason: 'put in my mouth', signature: reasoned }), 'BAD_SIGNATURE');
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did, signature: reasoned }), 'BAD_SIGNATURE');
    const elsewhere = key.sign(voteMessageBytes({ origin: 'another-deployment/main', proposalId: id, voter: did, choice: 'FOR' })).toString('hex');
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did, signature: elsewhere }), 'BAD_SIGNATURE');
    // Nor can a relay attach a reason to a vote signed without one.
    await refused(() => t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did, reason: 'added by the relay', signature: flipped }), 'BAD_SIGNATURE');
    // The genuine signature, relayed by anyone, counts for the signer.
    const vote = await t.gov.castVote('relay', { proposalId: id, choice: 'FOR', voter: did, signature: flipped });
    expect(vote).toMatchObject({ voter: did, power: 25n, signature: flipped });
    closeVoting();
  });
});

describe('attacks on proposals', () => {
  it('proposing below the proposal threshold', async () => {
    await t.gov.mint('admin', 'small', '99', 'x');
    await refused(() => t.gov.createProposal('small', proposalInput()), 'BELOW_PROPOSAL_THRESHOLD');
  });

  it('spamming proposals past the cap of live ones', async () => {
    await t.gov.createProposal('proposer', proposalInput());
    await t.gov.createProposal('proposer', proposalInput());
    await refused(() => t.gov.createProposal('proposer', proposalInput()), 'TOO_MANY_PROPOSALS');
    t.advance(72); // both ended: the proposer may propose again
    await t.gov.createProposal('proposer', proposalInput());
    t.advance(72);
  });

  it('a proposal whose voting ended this very millisecond no longer counts against the cap of live ones', async () => {
    await t.gov.createProposal('proposer', proposalInput());
    const last = await t.gov.createProposal('proposer', proposalInput());
    vi.setSystemTime(last.voteEnd.getTime() - 1);
    await refused(() => t.gov.createProposal('proposer', proposalInput()), 'TOO_MANY_PROPOSALS');
    vi.setSystemTime(last.voteEnd.getTime());
    await t.gov.createProposal('proposer', proposalInput());
    t.advance(72);
  });

  it('a server identity exempt from the proposal threshold proposes without voting power, within the cap of live ones', async () => {
    await refused(() => t.gov.createProposal('rules', proposalInput()), 'BELOW_PROPOSAL_THRESHOLD');
    t.gov.exemptFromProposalThreshold('rules');
    await t.gov.createProposal('rules', proposalInput());
    await t.gov.createProposal('rules', proposalInput());
    await refused(() => t.gov.createProposal('rules', proposalInput()), 'TOO_MANY_PROPOSALS');
    t.advance(72);
  });

  it('a canceled proposal no longer counts against the cap of live ones', async () => {
    const first = await t.gov.createProposal('proposer', proposalInput());
    await t.gov.createProposal('proposer', proposalInput());
    await refused(() => t.gov.createProposal('proposer', proposalInput()), 'TOO_MANY_PROPOSALS');
    await t.gov.cancel('proposer', first.id);
    await t.gov.createProposal('proposer', proposalInput());
    t.advance(72);
  });

  it('executing before the timelock, twice, or a defeated proposal', async () => {
    await t.gov.mint('admin', 'yes', '10', 'x');
    await t.gov.mint('admin', 'no', '20', 'x');
    const passed = await openProposal();
    const defeated = await t.gov.createProposal('proposer', proposalInput({ quorum: 0, votingDelay: 0 })).then((p) => p.id);
    await t.gov.castVote('yes', { proposalId: passed, choice: 'FOR' });
    await t.gov.castVote('no', { proposalId: defeated, choice: 'AGAINST' });
    await refused(() => t.gov.execute('proposer', passed), 'PROPOSAL_STATE'); // still active
    closeVoting();
    await refused(() => t.gov.execute('proposer', passed), 'PROPOSAL_STATE'); // not queued
    await t.gov.queue('proposer', passed);
    await refused(() => t.gov.execute('proposer', passed), 'TIMELOCK_PENDING');
    await refused(() => t.gov.queue('proposer', defeated), 'PROPOSAL_STATE');
    await refused(() => t.gov.execute('proposer', defeated), 'PROPOSAL_STATE');
    t.advance(31);
    const minted = (await t.gov.account('oncall')).balance;
    await t.gov.execute('proposer', passed);
    await refused(() => t.gov.execute('proposer', passed), 'PROPOSAL_STATE');
    expect((await t.gov.account('oncall')).balance).toBe(minted + 100n); // once
  });

  it('an execution whose later action can no longer be carried out applies none of its actions', async () => {
    await t.gov.mint('admin', 'atom', '10', 'x');
    const { minDifficulty } = await t.service.ledger('main');
    // Each is valid alone; once the first lowers maxDifficulty, the second's minDifficulty exceeds it.
    const lower = await t.gov.createProposal('proposer', proposalInput({ quorum: 0, actions: [{ setParameter: { ledger: 'main', name: 'maxDifficulty', value: String(minDifficulty) } }] }));
    const both = await t.gov.createProposal('proposer', proposalInput({
      quorum: 0,
      actions: [{ mint: { to: 'oncall', amount: '100' } }, { setParameter: { ledger: 'main', name: 'minDifficulty', value: String(minDifficulty + 1) } }],
    }));
    t.advance(11);
    await t.gov.castVote('atom', { proposalId: lower.id, choice: 'FOR' });
    await t.gov.castVote('atom', { proposalId: both.id, choice: 'FOR' });
    closeVoting();
    await t.gov.queue('proposer', lower.id);
    await t.gov.queue('proposer', both.id);
    t.advance(31);
    await t.gov.execute('proposer', lower.id);
    const minted = (await t.gov.account('oncall')).balance;
    await refused(() => t.gov.execute('proposer', both.id), 'BAD_USER_INPUT');
    expect((await t.gov.account('oncall')).balance).toBe(minted); // the mint before the failing action did not land
    expect((await t.gov.proposal(both.id))!.state).toBe('QUEUED');
    expect((await t.service.ledger('main')).minDifficulty).toBe(minDifficulty);
  });

  it("a reserved ledger's parameters: proposals naming them are refused, and one made before cannot be executed", async () => {
    // `system` (key administration) is reserved by the server; its checkpoint interval decides
    // how soon key changes are signed, so token holders must not be able to stretch it.
    await t.gov.mint('admin', 'keeper', '100', 'seed');
    await t.service.createLedger('keys', {});
    const { checkpointInterval } = await t.service.ledger('keys');
    const stretch = { actions: [{ setParameter: { ledger: 'keys', name: 'checkpointInterval', value: String(checkpointInterval * 100) } }] };
    const early = await t.gov.createProposal('keeper', proposalInput({ quorum: 0, ...stretch }));
    t.service.reserveLedger('keys');
    await refused(() => t.gov.createProposal('keeper', proposalInput(stretch)), 'FORBIDDEN');
    t.advance(11);
    await t.gov.castVote('keeper', { proposalId: early.id, choice: 'FOR' });
    closeVoting();
    await t.gov.queue('keeper', early.id);
    t.advance(31);
    await refused(() => t.gov.execute('keeper', early.id), 'FORBIDDEN');
    expect((await t.gov.proposal(early.id))!.state).toBe('QUEUED');
    expect((await t.service.ledger('keys')).checkpointInterval).toBe(checkpointInterval);
  });

  it('a proposal whose action cannot be carried out is refused whole', async () => {
    await refused(() => t.gov.createProposal('proposer', proposalInput({ actions: [{ rule: { name: 'x' } }] })), 'NOT_SUPPORTED');
    await refused(() => t.gov.createProposal('proposer', proposalInput({ actions: [{ mint: { to: 'a', amount: '1' }, rule: {} }] })), 'BAD_USER_INPUT');
    await refused(
      () => t.gov.createProposal('proposer', proposalInput({ actions: [{ setParameter: { ledger: 'main', name: 'minDifficulty', value: '40' } }] })),
      'BAD_USER_INPUT',
    );
    // Block rewards are paid on main only: a reward for another ledger could never be paid.
    await t.service.createLedger('elsewhere', {});
    await refused(
      () => t.gov.createProposal('proposer', proposalInput({ actions: [{ setParameter: { ledger: 'elsewhere', name: 'miningReward', value: '5' } }] })),
      'BAD_USER_INPUT',
    );
  });
});

describe('attacks on block rewards', () => {
  it("a writer taking a future block's reward key first", async () => {
    await refused(() => t.service.append('main', [{ type: 'squat', actor: 'w', idempotencyKey: 'block-reward:1000000' }]), 'FORBIDDEN');
    // Other keys stay the client's own.
    await t.service.append('main', [{ type: 'fine', actor: 'w', idempotencyKey: 'my-block-reward:1' }]);
  });
});
