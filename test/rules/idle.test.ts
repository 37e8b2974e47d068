import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  t = await openRules();
});
afterAll(async () => t?.close());

describe('a consumer with no contracts', () => {
  it('still settles the ledger up to its head, and a contract created later fires from the event after it', async () => {
    for (let i = 0; i < 3; i++) await t.emit('bug_report', 'ida');
    await t.settled();
    const c = await t.rules.create('admin', contractInput());
    const trigger = await t.emit('bug_report', 'ida');
    await t.settled();
    expect((await t.executions(c.id)).map((x) => x.triggerIndex)).toEqual([trigger]);
    expect((await t.gov.account('ida')).balance).toBe(15n);
  });
});
