import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyStateTree, extendStateTree, governanceStateRoot } from '../../src/governance/state-root.js';
import { leafHash, mth } from '../merkle/reference.js';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

let t: TestGovernance;
beforeAll(async () => {
  t = await openGovernance();
  await t.gov.mint('admin', 'a', '900', 'x');
  await t.gov.mintMany('admin', [{ to: 'b', amount: '100' }, { to: 'c', amount: '49' }, { to: 'a', amount: '3' }], 'batch');
  await t.gov.transfer('a', 'c', '50');
  await t.gov.burn('b', '1');
  await t.gov.delegate('c', 'a');
  const p = await t.gov.createProposal('gov', proposalInput({ quorum: 0 }));
  const canceled = await t.gov.createProposal('gov', proposalInput({ title: 'withdrawn' }));
  await t.gov.cancel('gov', canceled.id);
  t.advance(11);
  await t.gov.castVote('a', { proposalId: p.id, choice: 'FOR' });
  await t.gov.castVote('c', { proposalId: p.id, choice: 'AGAINST', reason: 'too much' });
  t.advance(60);
  await t.gov.queue('gov', p.id);
  t.advance(31);
  await t.gov.execute('gov', p.id);
});
afterAll(async () => t?.close());

/**
 * The state root as a third party would compute it from the definition alone: every fact
 * with its leaf index, sorted by (index, kind, key), one RFC 9162 leaf per JSON line.
 */
async function rootFromDefinition(treeSize: number): Promise<string> {
  const q = (sql: string) => t.db.dataSource.query(sql, [treeSize]) as Promise<Array<Record<string, string | null>>>;
  const facts: Array<{ idx: number; kind: number; key: string; line: unknown[] }> = [];
  const add = (kind: number, name: string, rows: Array<Record<string, string | null>>, key: (r: Record<string, string | null>) => string, cols: string[], idx = 'idx') => {
    for (const r of rows) facts.push({ idx: Number(r[idx]), kind, key: key(r), line: [name, ...cols.map((c) => r[c])] });
  };
  add(0, 'balance', await q(`SELECT account, idx::text, balance::text, delta::text, kind, encode(event_id, 'hex') AS id FROM gov_balance_history WHERE idx < $1`), (r) => r.account!, ['account', 'idx', 'balance', 'delta', 'kind', 'id']);
  add(1, 'delegate', await q(`SELECT account, idx::text, delegate FROM gov_delegate_history WHERE idx < $1`), (r) => r.account!, ['account', 'idx', 'delegate']);
  add(2, 'power', await q(`SELECT account, idx::text, power::text FROM gov_power_history WHERE idx < $1`), (r) => r.account!, ['account', 'idx', 'power']);
  add(3, 'supply', await q(`SELECT idx::text, supply::text FROM gov_supply_history WHERE idx < $1`), () => '', ['idx', 'supply']);
  add(4, 'proposal', await q(`SELECT id, idx::text, proposer, title, description, voting_type, created_ms::text, vote_start_ms::text, vote_end_ms::text,
      quorum_ppm::text, threshold_ppm::text, timelock_s::text, grace_s::text, actions::text FROM gov_proposals WHERE idx < $1`), () => '',
    ['id', 'idx', 'proposer', 'title', 'description', 'voting_type', 'created_ms', 'vote_start_ms', 'vote_end_ms', 'quorum_ppm', 'threshold_ppm', 'timelock_s', 'grace_s', 'actions']);
  add(5, 'queued', await q(`SELECT id, queued_idx::text, queued_ms::text FROM gov_proposals WHERE queued_idx < $1`), (r) => r.id!, ['id', 'queued_idx', 'queued_ms'], 'queued_idx');
  add(6, 'executed', await q(`SELECT id, executed_idx::text FROM gov_proposals WHERE executed_idx < $1`), (r) => r.id!, ['id', 'executed_idx'], 'executed_idx');
  add(7, 'canceled', await q(`SELECT id, canceled_idx::text FROM gov_proposals WHERE canceled_idx < $1`), (r) => r.id!, ['id', 'canceled_idx'], 'canceled_idx');
  add(8, 'vote', await q(`SELECT idx::text, proposal_id, voter, choice, delegate_at_snapshot, own_balance::text, reason, signature, encode(event_id, 'hex') AS id
      FROM gov_votes WHERE idx < $1`), (r) => `${r.proposal_id}\u0000${r.voter}`, ['idx', 'proposal_id', 'voter', 'choice', 'delegate_at_snapshot', 'own_balance', 'reason', 'signature', 'id']);
  facts.sort((x, y) => x.idx - y.idx || x.kind - y.kind || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return mth('sha256', facts.map((f) => leafHash('sha256', Buffer.from(JSON.stringify(f.line))))).toString('hex');
}

const stored = async () => (await t.db.dataSource.query(`SELECT tree_size FROM gov_state_roots ORDER BY tree_size`)).map((r: { tree_size: string }) => Number(r.tree_size));

describe('governance state root', () => {
  it('is the Merkle tree hash of the facts in event order, at every tree size', async () => {
    const size = await t.treeSize();
    expect(size).toBe(15);
    for (let n = 0; n <= size; n++) {
      expect(await governanceStateRoot(t.db.dataSource.manager, n), `tree size ${n}`).toBe(await rootFromDefinition(n));
    }
    // Every size was stored once, each extending the one below it.
    expect(await stored()).toEqual(Array.from({ length: size }, (_, i) => i + 1));
  });

  it('extends the nearest stored tree, and gives the same root as hashing everything again', async () => {
    const size = await t.treeSize();
    const all = await governanceStateRoot(t.db.dataSource.manager, size);
    await t.db.dataSource.query(`DELETE FROM gov_state_roots WHERE tree_size <> 4`);
    expect(await governanceStateRoot(t.db.dataSource.manager, size)).toBe(all);
    expect(await stored()).toEqual([4, size]);
    await t.db.dataSource.query(`DELETE FROM gov_state_roots`);
    expect(await governanceStateRoot(t.db.dataSource.manager, size)).toBe(all);
    // A root below a stored one starts from the empty tree, not from the larger one.
    expect(await governanceStateRoot(t.db.dataSource.manager, 9)).toBe(await rootFromDefinition(9));
  });

  it('is the same whatever the read window', async () => {
    const size = await t.treeSize();
    for (const window of [1, 2, 3, 7]) {
      const tree = emptyStateTree();
      await extendStateTree(t.db.dataSource.manager, tree, 0, 5, window);
      await extendStateTree(t.db.dataSource.manager, tree, 5, size, window);
      expect(tree.root().toString('hex'), `window ${window}`).toBe(await rootFromDefinition(size));
    }
  });

  it('changes when a fact the events wrote changes', async () => {
    const size = await t.treeSize();
    const before = await governanceStateRoot(t.db.dataSource.manager, size);
    const edit = (reason: string) => t.db.dataSource.query(`UPDATE gov_votes SET reason = $1 WHERE voter = 'c'`, [reason]);
    await t.db.dataSource.query(`DELETE FROM gov_state_roots`);
    await edit('edited');
    expect(await governanceStateRoot(t.db.dataSource.manager, size)).not.toBe(before);
    await edit('too much');
    await t.db.dataSource.query(`DELETE FROM gov_state_roots`);
    expect(await governanceStateRoot(t.db.dataSource.manager, size)).toBe(before);
  });

  it('replay computes every checkpoint root in one pass and they match', async () => {
    const r = await t.gov.replay();
    expect(r.ok).toBe(true);
    expect(r.stateRoot).toBe(await rootFromDefinition(await t.treeSize()));
  });
});
