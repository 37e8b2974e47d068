import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { governanceInput } from '../../src/governance/events.js';
import { voteMessageBytes } from '../../src/governance/vote-message.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
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

  // Last: it leaves the ledger holding an event replay refuses.
  it('re-checks each vote signature and names the first event it refuses', async () => {
    const voter = didKeyFromPublicKey(ed25519FromSeed(randomBytes(32)).publicKey);
    const mallory = ed25519FromSeed(randomBytes(32));
    await t.gov.mint('admin', voter, '10', 'x');
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0, votingDelay: 0 }));
    const forged = mallory.sign(voteMessageBytes({ origin: t.gov.votingOrigin, proposalId: p.id, voter, choice: 'FOR' })).toString('hex');
    // castVote refuses this signature; the live projection trusts that it did, as a server
    // that once missed the check would have. The ledger now holds a vote its voter never signed.
    const append = (t.gov as unknown as { append(inputs: unknown[]): Promise<Array<{ index: number }>> }).append.bind(t.gov);
    const [e] = await append([governanceInput('VoteCast', 'relay', `proposal/${p.id}`, { proposalId: p.id, voter, choice: 'FOR', signature: forged })]);
    const r = await t.gov.replay();
    expect(r.refused).toMatchObject({ index: e!.index });
    expect(r.refused!.message).toContain('signature');
    expect(r.mismatchedTables).toEqual(['gov_proposals', 'gov_votes']); // the live tally counted it; the rebuilt one does not
    expect(r.ok).toBe(false);
    // Projections made to agree with the rebuild do not hide it: the ledger still holds the forgery.
    await t.db.dataSource.query(`DELETE FROM gov_votes WHERE proposal_id = $1`, [p.id]);
    await t.db.dataSource.query(`UPDATE gov_proposals SET for_power = 0, for_weight = 0, voters = 0, snapshot = NULL, supply_at_snapshot = NULL WHERE id = $1`, [p.id]);
    const again = await t.gov.replay();
    expect(again.mismatchedTables).toEqual([]);
    expect(again.refused).toMatchObject({ index: e!.index });
    expect(again.ok).toBe(false);
    t.advance(60);
  });
});
