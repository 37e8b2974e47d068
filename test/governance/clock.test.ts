import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

let t: TestGovernance;
beforeAll(async () => {
  t = await openGovernance();
  await t.gov.mint('admin', 'proposer', '100', 'seed');
  await t.gov.mint('admin', 'voter', '5', 'seed');
});
afterAll(async () => t?.close());

describe("governance's clock", () => {
  it('a writer stamps an event ahead of the wall clock: proposals read as the checks judge them', async () => {
    const p = await t.gov.createProposal('proposer', proposalInput({ quorum: 0 }));
    t.advance(11);
    expect((await t.gov.proposal(p.id))!.state).toBe('ACTIVE');
    // Within the allowed skew (60 s) and past the end of the 60 s voting window: the ledger's clock moves there.
    await t.service.append('main', [{ type: 'clock.push', actor: 'w', parents: [], hlc: { physicalMs: Date.now() + 59_500, logical: 0 } }]);
    const before = await t.treeSize();
    await expect(t.gov.castVote('voter', { proposalId: p.id, choice: 'FOR' })).rejects.toMatchObject({ code: 'VOTING_CLOSED' });
    expect(await t.treeSize()).toBe(before);
    expect((await t.gov.proposal(p.id))!.state).not.toBe('ACTIVE');
    expect((await t.gov.proposals({ state: 'ACTIVE' }, 'NEWEST', {})).items.map((i) => i.node.id)).not.toContain(p.id);
  });
});
