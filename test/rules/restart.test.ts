import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  t = await openRules();
});
afterAll(async () => t?.close());

describe('a restarted consumer', () => {
  it('takes up contracts as they stood at its cursor: deactivated and retuned before it stay so', async () => {
    const off = await t.rules.create('admin', contractInput({ name: 'switched off', trigger: { eventTypes: ['restart'] } }));
    const tuned = await t.rules.create('admin', contractInput({
      name: 'retuned', trigger: { eventTypes: ['restart'] },
      actions: [{ mintTokens: { to: 'event.actor', amountExpr: 'contract.params.amount', reason: 'r' } }], parameters: { amount: 3 },
    }));
    await t.rules.setActive('admin', off.id, false);
    await t.rules.setParameters('admin', tuned.id, { amount: 7 });
    await t.settled(); // the cursor is past both changes

    await t.rules.stop();
    const trigger = await t.emit('restart', 'rita');
    await t.rules.startConsumer(pino({ level: 'silent' }));
    await t.settled();
    expect(await t.executions(off.id)).toEqual([]);
    expect((await t.executions(tuned.id)).map((x) => [x.triggerIndex, x.ok])).toEqual([[trigger, true]]);
    expect((await t.gov.account('rita')).balance).toBe(7n);
  });
  /** The cursor's own event is settled: a deactivation that is the last event before the stop applies after the restart. */
  it('takes up a contract deactivated by the very event at its cursor as inactive', async () => {
    const off = await t.rules.create('admin', contractInput({ name: 'switched off last', trigger: { eventTypes: ['restart_last'] } }));
    await t.rules.setActive('admin', off.id, false);
    await t.settled();
    expect(Number((await t.db.dataSource.query(`SELECT position FROM rules_cursor`))[0].position)).toBe((await t.treeSize()) - 1);

    await t.rules.stop();
    await t.emit('restart_last', 'rosa');
    await t.rules.startConsumer(pino({ level: 'silent' }));
    await t.settled();
    expect(await t.executions(off.id)).toEqual([]);
  });

  it('takes up a contract changed after its cursor as it stood there: each change applies from its own event on', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'changed while stopped', trigger: { eventTypes: ['while_stopped'] },
      actions: [{ mintTokens: { to: 'event.actor', amountExpr: 'contract.params.amount', reason: 'r' } }], parameters: { amount: 3 },
    }));
    await t.settled();

    await t.rules.stop();
    const before = await t.emit('while_stopped', 'wes');
    await t.rules.setParameters('admin', c.id, { amount: 7 });
    const retuned = await t.emit('while_stopped', 'wes');
    await t.rules.setActive('admin', c.id, false);
    await t.emit('while_stopped', 'wes');
    await t.rules.startConsumer(pino({ level: 'silent' }));
    await t.settled();
    expect((await t.executions(c.id)).map((x) => [x.triggerIndex, x.record.actions[0]!.detail])).toEqual([
      [before, { to: 'wes', amount: '3' }],
      [retuned, { to: 'wes', amount: '7' }],
    ]);
    expect((await t.gov.account('wes')).balance).toBe(10n);
  });
});
