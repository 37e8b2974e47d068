import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../src/ledger/events/envelope.js';
import { projectRules } from '../../src/rules/projector.js';
import { contractInput, openRules, type TestRules } from './support.js';

// No consumer runs here: each test writes the ledger the replay reads (and the cursor it trusts) itself.
let t: TestRules;
beforeEach(async () => {
  t = await openRules({ consumer: false });
});
afterEach(async () => t?.close());

const ledgerId = async () => (await t.service.ledger('main')).id;
const setCursor = async (position: number) =>
  t.db.dataSource.query(`INSERT INTO rules_cursor (ledger_id, position) VALUES ($1, $2) ON CONFLICT (ledger_id) DO UPDATE SET position = $2`, [await ledgerId(), position]);
/** A ContractExecuted written as a faulty or forged engine would, without the consumer. */
const record = (payload: Record<string, unknown>) => t.service.append('main', [{ type: 'ContractExecuted', actor: 'rules', subsystem: 'rules', payload }], { asServer: true });

describe('replay finds what the recorded firings get wrong', () => {
  it('a recorded firing whose actions differ from what the contract does', async () => {
    const c = await t.rules.create('admin', contractInput());
    const index = await t.emit('bug_report', 'ann');
    const trigger = (await t.service.eventAt('main', index))!;
    const actions = [{ kind: 'mintTokens', ok: true, detail: { to: 'ann', amount: '16' } }];
    await record({ contractId: c.id, trigger: trigger.id, triggerIndex: index, triggerActor: 'ann', triggerMs: trigger.hlc.physicalMs, depth: 1, ok: true, actions });
    const r = await t.rules.replay();
    expect(r.ok).toBe(false);
    expect(r.mismatches).toEqual([expect.objectContaining({ contractId: c.id, triggerIndex: index, kind: 'different' })]);
    expect((r.mismatches[0]!.replayed as { actions: unknown }).actions).toEqual([{ kind: 'mintTokens', ok: true, detail: { to: 'ann', amount: '15' } }]);
  });

  /** The consumer leaves copies synced from a peer alone (the peer's contracts ran on them): the replay must too, or it expects firings never due. */
  it('expects no firing for a copy synced from a peer', async () => {
    await t.rules.create('admin', contractInput());
    const copy = canonicalBytes({
      ledger: 'peer.example/main', type: 'bug_report', actor: 'peer-writer', parents: [], hlc: { physicalMs: Date.now() - 1000, logical: 0 }, payload: {},
    });
    await t.service.appendReplicated('main', [{ canonical: copy, signature: null }]);
    await setCursor((await t.treeSize()) - 1);
    expect(await t.rules.replay()).toMatchObject({ ok: true, firings: 0, mismatches: [] });
  });

  it('a trigger the cursor settled without its firing; one past the cursor is not settled yet', async () => {
    const c = await t.rules.create('admin', contractInput());
    const index = await t.emit('bug_report', 'bob');
    await setCursor(index - 1);
    expect(await t.rules.replay()).toMatchObject({ ok: true, firings: 1, mismatches: [] });
    await setCursor(index);
    const r = await t.rules.replay();
    expect(r.ok).toBe(false);
    expect(r.mismatches).toEqual([expect.objectContaining({ contractId: c.id, triggerIndex: index, kind: 'missing' })]);
  });

  it('a recorded contract that no longer compiles fails the replay', async () => {
    await t.rules.create('admin', contractInput());
    const { condition: _, ...rest } = contractInput();
    await t.service.append('main', [{ type: 'ContractCreated', actor: 'admin', resource: 'contract', subsystem: 'rules', payload: { ...rest, condition: 'nosuch(1)', limits: { maxFiringsPerActor: null, windowSeconds: 86_400 }, parameters: {}, active: true } }], { asServer: true });
    expect(await t.rules.replay()).toMatchObject({ ok: false, mismatches: [] });
  });
});

describe('the settlement cursor', () => {
  it('moves to the last event a settlement evaluated, and refuses one whose first trigger it already passed', async () => {
    const id = await ledgerId();
    const settle = (firstTrigger: number, to: number) =>
      t.db.dataSource.transaction((tx) => projectRules(tx, [], { ledgerId: id, firstTrigger, to, depths: [] }));
    const cursor = async () => Number((await t.db.dataSource.query(`SELECT position FROM rules_cursor WHERE ledger_id = $1`, [id]))[0].position);
    await settle(3, 7);
    expect(await cursor()).toBe(7);
    await expect(settle(7, 9)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/rules cursor is at 7; trigger 7 is already settled/) });
    expect(await cursor()).toBe(7);
    await settle(8, 9);
    expect(await cursor()).toBe(9);
  });
});
