import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOVERNANCE_SUBSYSTEM, governanceInput } from '../../src/governance/events.js';
import { voteMessageBytes } from '../../src/governance/vote-message.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { canonicalBytes } from '../../src/ledger/events/envelope.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { tamper } from '../verify/support.js';
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
  const w = await t.gov.createProposal('gov', proposalInput({
    quorum: 0,
    actions: [{ mint: { to: 'oncall', amount: '100' } }, { setParameter: { ledger: 'main', name: 'miningReward', value: '3' } }],
  }));
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
    expect(r.eventsReplayed).toBe(18);
  });

  it('names the projection that no longer matches the ledger', async () => {
    await t.db.dataSource.query(`UPDATE gov_accounts SET balance = balance + 1 WHERE account = 'b'`);
    await t.db.dataSource.query(`UPDATE gov_votes SET choice = 'AGAINST' WHERE voter = 'b'`);
    await t.db.dataSource.query(`UPDATE gov_ledger_rewards SET reward = 300 WHERE ledger = 'main'`);
    const r = await t.gov.replay();
    expect(r.ok).toBe(false);
    expect(r.mismatchedTables).toEqual(['gov_accounts', 'gov_votes', 'gov_ledger_rewards']);
    await t.db.dataSource.query(`UPDATE gov_accounts SET balance = balance - 1 WHERE account = 'b'`);
    await t.db.dataSource.query(`UPDATE gov_votes SET choice = 'FOR' WHERE voter = 'b'`);
    await t.db.dataSource.query(`UPDATE gov_ledger_rewards SET reward = 3 WHERE ledger = 'main'`);
    expect((await t.gov.replay()).ok).toBe(true);
  });

  it('governance events cannot be forged through the generic append', async () => {
    await expect(
      t.service.append('main', [{ type: 'TokensMinted', actor: 'mallory', subsystem: 'governance', payload: { to: 'mallory', amount: '1000000', reason: 'x' } }]),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await t.gov.account('mallory')).balance).toBe(0n);
  });

  it("leaves out a peer's governance events synced into the ledger: they are history, not this node's state", async () => {
    const before = await t.gov.replay();
    const copies = [undefined, t.service.serverKey!.did].map((author, i) => canonicalBytes({
      ledger: 'peer.example/main', type: 'TokensMinted', actor: 'peer-admin', ...(author ? { author } : {}), subsystem: GOVERNANCE_SUBSYSTEM, parents: [],
      hlc: { physicalMs: Date.now() - 1000 + i, logical: 0 }, payload: { to: 'b', amount: '1000', reason: 'minted on the peer' },
    }));
    await t.service.appendReplicated('main', copies.map((canonical) => ({ canonical, signature: null })));
    const r = await t.gov.replay();
    expect(r.mismatchedTables).toEqual([]);
    expect(r.eventsReplayed).toBe(before.eventsReplayed);
    expect(r.ok).toBe(true);
    expect((await t.gov.account('b')).balance).toBe(99n);
  });

  it("names a checkpoint whose state line the ledger's events do not reproduce", async () => {
    const cp = await t.service.createCheckpoint('main');
    expect((await t.gov.replay()).checkpoints.at(-1)).toMatchObject({ treeSize: cp.treeSize, ok: true });
    // The note as recorded, its state line no longer the state its events leave.
    const [row] = await t.db.dataSource.query(`SELECT note FROM checkpoints WHERE tree_size = $1`, [cp.treeSize]);
    const recorded = /^state ([0-9a-f]{64})$/m.exec(row.note)![1]!;
    const other = recorded.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    // Rewritten with the append-only triggers off, as an attacker with the database would.
    const rewrite = (from: string, to: string) =>
      tamper(t.db.dataSource, [`UPDATE checkpoints SET note = replace(note, $1, $2) WHERE tree_size = $3`, [from, to, cp.treeSize]]);
    await rewrite(recorded, other);
    const r = await t.gov.replay();
    expect(r.mismatchedTables).toEqual([]);
    expect(r.checkpoints.at(-1)).toMatchObject({ treeSize: cp.treeSize, recorded: other, replayed: recorded, ok: false });
    expect(r.ok).toBe(false);
    await rewrite(other, recorded);
    expect((await t.gov.replay()).ok).toBe(true);
  });

  // Last: it leaves the ledger holding an event replay refuses.
  it('re-checks each vote signature and names the first event it refuses', async () => {
    const voter = didKeyFromPublicKey(ed25519FromSeed(randomBytes(32)).publicKey);
    const mallory = ed25519FromSeed(randomBytes(32));
    const voter2 = didKeyFromPublicKey(ed25519FromSeed(randomBytes(32)).publicKey);
    await t.gov.mint('admin', voter, '10', 'x');
    await t.gov.mint('admin', voter2, '10', 'x');
    const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0, votingDelay: 0 }));
    const forged = mallory.sign(voteMessageBytes({ origin: t.gov.votingOrigin, proposalId: p.id, voter, choice: 'FOR' })).toString('hex');
    // castVote refuses this signature; the live projection trusts that it did, as a server
    // that once missed the check would have. The ledger now holds a vote its voter never signed.
    const append = (t.gov as unknown as { append(inputs: unknown[]): Promise<Array<{ index: number }>> }).append.bind(t.gov);
    const [e] = await append([governanceInput('VoteCast', 'relay', `proposal/${p.id}`, { proposalId: p.id, voter, choice: 'FOR', signature: forged })]);
    // A second forgery after it: the report names the first.
    const forged2 = mallory.sign(voteMessageBytes({ origin: t.gov.votingOrigin, proposalId: p.id, voter: voter2, choice: 'FOR' })).toString('hex');
    await append([governanceInput('VoteCast', 'relay', `proposal/${p.id}`, { proposalId: p.id, voter: voter2, choice: 'FOR', signature: forged2 })]);
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
