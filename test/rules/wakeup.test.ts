import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  // A poll interval longer than the test: only commits may wake the consumer.
  t = await openRules({ idlePollMs: 3_600_000 });
});
afterAll(async () => t?.close());

describe('an idle consumer', () => {
  it('is woken by the events its own write commits, not by the next poll', async () => {
    // The first contract's firing mints to the trigger's actor; the second triggers on that mint.
    const ping = await t.rules.create('admin', contractInput({ name: 'ping', trigger: { eventTypes: ['ping'] } }));
    const pong = await t.rules.create('admin', contractInput({
      name: 'pong',
      trigger: { eventTypes: ['TokensMinted'], subsystem: 'governance' },
      condition: 'event.payload.to == "pat"',
      actions: [{ raiseAlert: { severity: 'INFO', message: 'pat was rewarded' } }],
    }));
    await t.settled();
    await t.emit('ping', 'pat');
    await t.settled();
    expect((await t.rules.executions(ping.id, { first: 10 })).items).toHaveLength(1);
    expect((await t.rules.executions(pong.id, { first: 10 })).items).toHaveLength(1);
  });
});
