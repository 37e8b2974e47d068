import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

let t: TestGovernance;
const ids: string[] = [];
beforeAll(async () => {
  t = await openGovernance({ CHAINPROOF_GOV_MAX_LIVE_PROPOSALS: '10' });
  for (const [to, amount] of [['a', '10'], ['b', '20'], ['c', '30']] as const) await t.gov.mint('admin', to, amount, 'x');
  for (const [proposer, title] of [['p1', 'first'], ['p2', 'second'], ['p1', 'third']] as const) {
    ids.push((await t.gov.createProposal(proposer, proposalInput({ title, quorum: 0 }))).id);
  }
  t.advance(11);
});
afterAll(async () => t?.close());

const titles = (page: { items: Array<{ node: { title: string } }> }) => page.items.map((i) => i.node.title);

describe('reading proposals', () => {
  it('lists them newest first, or oldest first, and by proposer', async () => {
    expect(titles(await t.gov.proposals({}, 'NEWEST', {}))).toEqual(['third', 'second', 'first']);
    expect(titles(await t.gov.proposals({}, 'OLDEST', {}))).toEqual(['first', 'second', 'third']);
    expect(titles(await t.gov.proposals({ proposer: 'p1' }, 'NEWEST', {}))).toEqual(['third', 'first']);
    expect(titles(await t.gov.proposals({ state: 'ACTIVE', proposer: 'p2' }, 'OLDEST', {}))).toEqual(['second']);
  });

  it('pages through them, saying whether more follow', async () => {
    const first = await t.gov.proposals({}, 'NEWEST', { first: 2 });
    expect(titles(first)).toEqual(['third', 'second']);
    expect(first.hasNextPage).toBe(true);
    const rest = await t.gov.proposals({}, 'NEWEST', { first: 2, after: first.items.at(-1)!.cursor });
    expect(titles(rest)).toEqual(['first']);
    expect([rest.hasNextPage, rest.hasPreviousPage]).toEqual([false, true]);
    expect((await t.gov.proposals({}, 'OLDEST', { first: 3 })).hasNextPage).toBe(false);
  });
});

describe('reading votes', () => {
  it('pages through a proposal\'s votes in ledger order, saying whether more follow', async () => {
    for (const v of ['a', 'b', 'c']) await t.gov.castVote(v, { proposalId: ids[0]!, choice: 'FOR' });
    const two = await t.gov.votes(ids[0]!, { first: 2 });
    expect(two.items.map((i) => i.node.voter)).toEqual(['a', 'b']);
    expect(two.hasNextPage).toBe(true);
    const last = await t.gov.votes(ids[0]!, { first: 1, after: two.items.at(-1)!.cursor });
    expect(last.items.map((i) => [i.node.voter, i.node.power])).toEqual([['c', 30n]]);
    expect(last.hasNextPage).toBe(false);
    expect((await t.gov.votes(ids[0]!, { first: 3 })).hasNextPage).toBe(false);
    await expect(t.gov.votes('0'.repeat(64), {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe("reading an account's history", () => {
  it('pages through its balance changes, saying whether more follow', async () => {
    await t.gov.transfer('b', 'd', '5');
    await t.gov.transfer('b', 'd', '6');
    const first = await t.gov.history('b', { first: 2 });
    expect(first.items.map((i) => [i.node.kind, i.node.delta, i.node.balance])).toEqual([['mint', 20n, 20n], ['transfer-out', -5n, 15n]]);
    expect(first.hasNextPage).toBe(true);
    const rest = await t.gov.history('b', { first: 1, after: first.items.at(-1)!.cursor });
    expect(rest.items.map((i) => i.node.balance)).toEqual([9n]);
    expect([rest.hasNextPage, rest.hasPreviousPage]).toEqual([false, true]);
    expect((await t.gov.history('b', { first: 3 })).hasNextPage).toBe(false);
  });

  it('after the very first leaf of the ledger, there is a page before', async () => {
    const [first] = (await t.gov.history('a', { first: 1 })).items;
    expect(first!.node).toMatchObject({ index: 0, kind: 'mint' });
    const rest = await t.gov.history('a', { after: first!.cursor });
    expect(rest.items).toEqual([]);
    expect([rest.hasNextPage, rest.hasPreviousPage]).toEqual([false, true]);
  });
});
