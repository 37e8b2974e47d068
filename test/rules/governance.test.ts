import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RulesService } from '../../src/rules/rules-service.js';
import { advance, contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  // Proposals run on ledger time: fake Date only, and move it forward.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  t = await openRules();
  await t.gov.mint('admin', 'v1', '1000', 'voting power');
});
afterAll(async () => {
  await t?.close();
  vi.useRealTimers();
});

/** Proposes `rule`, passes it and executes it; returns the proposal id. */
async function pass(rule: unknown): Promise<string> {
  const p = await t.gov.createProposal('v1', {
    title: 'Change the rules', description: '', votingType: 'WEIGHTED', votingDelay: 0, votingPeriod: 10,
    quorum: 0.1, threshold: 0.5, timelock: 1, actions: [{ rule }],
  });
  advance(1);
  await t.gov.castVote('v1', { proposalId: p.id, choice: 'FOR' });
  advance(11);
  await t.gov.queue('v1', p.id);
  advance(2);
  await t.gov.execute('v1', p.id);
  return p.id;
}

describe('rules changed by governance', () => {
  it('a passed proposal creates a contract, which then fires; another disables it', async () => {
    const proposalId = await pass({ create: { ...contractInput({ name: 'voted in', trigger: { eventTypes: ['voted_trigger'] } }) } });
    const [c] = (await t.rules.contracts({}, {})).items.map((i) => i.node).filter((x) => x.name === 'voted in');
    expect(c).toMatchObject({ active: true, createdBy: 'v1' });
    expect((await t.service.event('main', c!.id))!.payload).toMatchObject({ proposalId });

    await t.emit('voted_trigger', 'zed');
    await t.settled();
    expect((await t.gov.account('zed')).balance).toBe(15n);

    const retune = await pass({ setParameters: { id: c!.id, parameters: { note: 'retuned by vote' } } });
    expect((await t.rules.contract(c!.id))!.definition.parameters).toEqual({ note: 'retuned by vote' });
    const [params] = await t.db.dataSource.query(`SELECT idx FROM rules_contract_params WHERE contract_id = $1`, [c!.id]);
    expect((await t.service.eventAt('main', Number(params.idx)))!.payload).toEqual({ contractId: c!.id, parameters: { note: 'retuned by vote' }, proposalId: retune });

    const disable = await pass({ setActive: { id: c!.id, active: false } });
    expect((await t.rules.contract(c!.id))!.active).toBe(false);
    const [change] = await t.db.dataSource.query(`SELECT idx FROM rules_contract_changes WHERE contract_id = $1`, [c!.id]);
    expect((await t.service.eventAt('main', Number(change.idx)))!.payload).toEqual({ contractId: c!.id, active: false, proposalId: disable });
    await t.emit('voted_trigger', 'zed');
    await t.settled();
    expect((await t.gov.account('zed')).balance).toBe(15n);
  });

  it('a rule action is checked when proposed, like createContract', async () => {
    const before = (await t.service.head('main')).treeSize;
    const propose = (rule: unknown) => t.gov.createProposal('v1', {
      title: 'bad', description: '', votingType: 'WEIGHTED', votingDelay: 0, votingPeriod: 10, quorum: 0.1, threshold: 0.5, timelock: 1, actions: [{ rule }],
    });
    await expect(propose({ create: contractInput({ condition: 'event.type * 2' }) })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/action 0 rule: condition:1:\d+: no matching overload/) });
    await expect(propose({ setActive: { id: 'x', active: true } })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(propose({ create: contractInput(), setActive: { id: 'ab'.repeat(32), active: true } })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await t.service.head('main')).treeSize).toBe(before);
  });

  it('with authority "proposal", admins cannot change contracts directly', async () => {
    const strict = new RulesService(t.db.dataSource, t.service, t.gov, 'proposal');
    await expect(strict.create('admin', contractInput())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(strict.setActive('admin', 'ab'.repeat(32), true)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const [c] = (await t.rules.contracts({}, {})).items;
    await expect(strict.setParameters('admin', c!.node.id, { a: 1 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
