import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  t = await openRules({ consumer: false });
});
afterAll(async () => t?.close());

const proposal = { title: 'Review', description: 'opened by a contract', votingType: 'WEIGHTED' as const, votingDelay: 0, votingPeriod: 60, quorum: 0.1, threshold: 0.5, timelock: 0, actions: [] };

const refused = async (act: () => Promise<unknown>, code: string, message?: RegExp) => {
  const before = await t.treeSize();
  const err = await act().then(() => undefined, (e) => e);
  expect(err).toMatchObject({ code });
  if (message) expect(err.message).toMatch(message);
  expect(await t.treeSize()).toBe(before); // a refusal writes nothing
};

describe('creating contracts', () => {
  it('records a contract as a server-signed rules event and lists it', async () => {
    const c = await t.rules.create('admin', contractInput());
    expect(c).toMatchObject({ name: 'Reward bug reports', active: true, createdBy: 'admin' });
    const e = await t.service.event('main', c.id);
    expect(e).toMatchObject({ type: 'ContractCreated', subsystem: 'rules', author: expect.stringMatching(/^did:key:/) });
    expect(e!.signature).not.toBeNull();
    const page = await t.rules.contracts({}, {});
    expect(page.items.map((i) => i.node.id)).toContain(c.id);
    const all = page.items.length;
    expect(page.hasNextPage).toBe(false);
    expect((await t.rules.contracts({}, { first: all })).hasNextPage).toBe(false);
    expect((await t.rules.contracts({}, { first: all - 1 })).hasNextPage).toBe(true);
  });

  it('refuses conditions that do not type-check, with the checker\'s message', async () => {
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.type + 1' })), 'BAD_USER_INPUT', /no matching overload for '_\+_' applied to \(string, int\)/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.nope == 1' })), 'BAD_USER_INPUT', /undefined field 'nope'/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'score > 1' })), 'BAD_USER_INPUT', /undeclared reference to 'score'/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.actor' })), 'BAD_USER_INPUT', /type string; expected bool/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.type ==' })), 'BAD_USER_INPUT', /condition/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'nosuch(1)' })), 'BAD_USER_INPUT', /undeclared reference to function 'nosuch'/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'count(event.type, 60) > 1' })), 'BAD_USER_INPUT', /must be a literal string/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'count("x", 99999999) > 1' })), 'BAD_USER_INPUT', /window/);
    // Literals the evaluator would only trip over at the first firing.
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.type.matches("(")' })), 'BAD_USER_INPUT', /invalid regular expression/);
    // A pattern from the event could cost anything to compile, outside the evaluation budget.
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.payload.s.matches(event.payload.p)' })), 'BAD_USER_INPUT', /string literal/);
    // Names that every JavaScript object has are not functions or fields of CEL here.
    for (const condition of ['constructor("a", 1) > 0', '"x".toString() == "x"', 'size([valueOf(1)]) > 0', 'hasOwnProperty("a", 3600) == 1', 'size([event.toString]) > 0']) {
      await refused(() => t.rules.create('admin', contractInput({ condition })), 'BAD_USER_INPUT', /./);
    }
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.index > 12345678901234567890123' })), 'BAD_USER_INPUT', /out of int range/);
    await refused(() => t.rules.create('admin', contractInput({ condition: 'event.index > 99999999999999999999999u' })), 'BAD_USER_INPUT', /out of uint range/);
    expect((await t.rules.create('admin', contractInput({ condition: 'event.type.matches("^de(ploy)+$") && event.index < 9223372036854775807' }))).id).toMatch(/^[0-9a-f]{64}$/);
    await refused(() => t.rules.create('admin', contractInput({
      actions: [{ mintTokens: { to: 'event.payload', amountExpr: '15', reason: 'x' } }],
    })), 'BAD_USER_INPUT', /type map; expected string/);
    await refused(() => t.rules.create('admin', contractInput({
      actions: [{ mintTokens: { to: 'event.actor', amountExpr: 'true', reason: 'x' } }],
    })), 'BAD_USER_INPUT', /amountExpr has type bool/);
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ appendEvent: { type: 'x', payloadExpr: '1' } }] })), 'BAD_USER_INPUT', /expected map/);
  });

  it('refuses malformed actions', async () => {
    await refused(() => t.rules.create('admin', contractInput({ actions: [] })), 'BAD_USER_INPUT');
    await refused(() => t.rules.create('admin', contractInput({
      actions: [{ raiseAlert: { severity: 'INFO', message: 'm' }, mintTokens: { to: '"a"', amountExpr: '1', reason: '' } }],
    })), 'BAD_USER_INPUT', /exactly one/);
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ raiseAlert: { severity: 'LOUD', message: 'm' } }] })), 'BAD_USER_INPUT');
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ appendEvent: { type: 'ContractExecuted', payloadExpr: '{}' } }] })), 'BAD_USER_INPUT', /own event type/);
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ setParameter: { name: 'x', valueExpr: '1' } }] })), 'BAD_USER_INPUT', /parameter must be one of/);
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ setParameter: { name: 'blockSize', valueExpr: 'event.actor == "a"' } }] })), 'BAD_USER_INPUT', /type bool/);
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ setParameter: { ledger: 'nosuch', name: 'blockSize', valueExpr: '1' } }] })), 'UNKNOWN_LEDGER');
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ setParameter: { ledger: 'other', name: 'miningReward', valueExpr: '1' } }] })), 'BAD_USER_INPUT', /main only/);
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ openProposal: { template: 'x' as never } }] })), 'BAD_USER_INPUT', /template/);
    await refused(() => t.rules.create('admin', contractInput({ actions: [{ openProposal: { template: { ...proposal, votingPeriod: 0 } } }] })), 'BAD_USER_INPUT', /template: votingPeriod/);
    await refused(() => t.rules.create('admin', contractInput({
      actions: [{ openProposal: { template: { ...proposal, actions: [{ setParameter: { ledger: 'main', name: 'blockSize', value: '0' } }] } } }],
    })), 'BAD_USER_INPUT', /blockSize/);
  });

  it('refuses hostile expressions: too long, too deep, nested macros', async () => {
    await refused(() => t.rules.create('admin', contractInput({ condition: `"${'a'.repeat(5_000)}" == event.type` })), 'BAD_USER_INPUT', /limit is 2000/);
    await refused(() => t.rules.create('admin', contractInput({ condition: `${'('.repeat(600)}true${')'.repeat(600)}` })), 'BAD_USER_INPUT', /nested|deep/);
    await refused(() => t.rules.create('admin', contractInput({ condition: `size(${'['.repeat(100)}1${']'.repeat(100)}) > 0` })), 'BAD_USER_INPUT', /nested more than 32/);
    await refused(() => t.rules.create('admin', contractInput({ condition: '[1,2,3].all(x, [1,2,3].all(y, x * y > 0))' })), 'BAD_USER_INPUT', /nest at most 1/);
    await refused(() => t.rules.create('admin', contractInput({ parameters: { list: Array.from({ length: 300 }, (_, i) => i) } })), 'BAD_USER_INPUT', /parameters: a payload list/);
  });

  it('activates and deactivates; a no-op change and an unknown contract are refused', async () => {
    const c = await t.rules.create('admin', contractInput({ name: 'toggle' }));
    expect((await t.rules.setActive('admin', c.id, false)).active).toBe(false);
    await refused(() => t.rules.setActive('admin', c.id, false), 'CONFLICT');
    await refused(() => t.rules.setActive('admin', 'ab'.repeat(32), true), 'NOT_FOUND');
    await refused(() => t.rules.setActive('admin', 'nope', true), 'BAD_USER_INPUT');
    expect((await t.rules.setActive('admin', c.id, true)).active).toBe(true);
    await refused(() => t.rules.setParameters('admin', 'ab'.repeat(32), { a: 1 }), 'NOT_FOUND');
    await refused(() => t.rules.setParameters('admin', 'nope', { a: 1 }), 'BAD_USER_INPUT', /64 lowercase hex/);
    // Parameters are checked as at creation: ones that could never be bound are refused, and nothing is written.
    await refused(() => t.rules.setParameters('admin', c.id, { list: Array.from({ length: 300 }, (_, i) => i) }), 'BAD_USER_INPUT', /parameters: a payload list/);
    await refused(() => t.rules.setParameters('admin', c.id, [1]), 'BAD_USER_INPUT', /parameters must be a JSON object/);
    expect((await t.rules.contracts({ active: false }, {})).items.map((i) => i.node.id)).not.toContain(c.id);
  });

  it('keeps clients from forging rules events', async () => {
    await refused(() => t.service.append('main', [{ type: 'AlertRaised', actor: 'mallory', subsystem: 'rules', payload: {} }]), 'FORBIDDEN');
  });
});
