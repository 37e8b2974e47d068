import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

let t: TestGovernance;
beforeAll(async () => {
  t = await openGovernance();
  // A history touching every projection: mints, transfers, burns, delegation, a quadratic
  // proposal with overriding delegators, and an executed one.
  await t.gov.mint('admin', 'a', '900', 'x');
  await t.gov.mint('admin', 'b', '100', 'x');
  await t.gov.mint('admin', 'c', '49', 'x');
  // A batch is folded in one pass live and one event at a time on replay: both must agree.
  await t.gov.mintMany('admin', [{ to: 'a', amount: '1' }, { to: 'd', amount: '2' }, { to: 'a', amount: '3' }], 'batch');
  await t.gov.transfer('a', 'c', '50');
  await t.gov.burn('b', '1');
  await t.gov.delegate('c', 'a');
  const q = await t.gov.createProposal('gov', proposalInput({ votingType: 'QUADRATIC', quorum: 0.1 }));
  const w = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
  t.advance(11);
  await t.gov.castVote('a', { proposalId: q.id, choice: 'FOR' });
  await t.gov.castVote('c', { proposalId: q.id, choice: 'AGAINST' });
  await t.gov.castVote('b', { proposalId: w.id, choice: 'FOR' });
  t.advance(60);
  await t.gov.queue('gov', w.id);
  t.advance(31);
  await t.gov.execute('gov', w.id);
});
afterAll(async () => t?.close());

describe('verify --replay', () => {
  it('rebuilds exactly the live projections from the ledger alone', async () => {
    const r = await t.gov.replay();
    expect(r.mismatchedTables).toEqual([]);
    expect(r.refused).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.eventsReplayed).toBe(17);
  });

  it('names the projection that no longer matches the ledger', async () => {
    await t.db.dataSource.query(`UPDATE gov_accounts SET balance = balance + 1 WHERE account = 'b'`);
    await t.db.dataSource.query(`UPDATE gov_votes SET choice = 'AGAINST' WHERE voter = 'b'`);
    const r = await t.gov.replay();
    expect(r.ok).toBe(false);
    expect(r.mismatchedTables).toEqual(['gov_accounts', 'gov_votes']);
    await t.db.dataSource.query(`UPDATE gov_accounts SET balance = balance - 1 WHERE account = 'b'`);
    await t.db.dataSource.query(`UPDATE gov_votes SET choice = 'FOR' WHERE voter = 'b'`);
    expect((await t.gov.replay()).ok).toBe(true);
  });

  it('governance events cannot be forged through the generic append', async () => {
    await expect(
      t.service.append('main', [{ type: 'TokensMinted', actor: 'mallory', subsystem: 'governance', payload: { to: 'mallory', amount: '1000000', reason: 'x' } }]),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await t.gov.account('mallory')).balance).toBe(0n);
  });
});
