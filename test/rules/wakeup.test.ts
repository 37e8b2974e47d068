import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { driverPool } from '../../src/db/driver-pool.js';
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

  it('reads a commit that fires nothing once, not once more to find nothing after it', async () => {
    await t.settled();
    const read = vi.spyOn(driverPool(t.db.dataSource), 'query');
    try {
      for (let i = 0; i < 5; i++) {
        await t.emit('noise', 'pat');
        // Its position is written once the consumer has found nothing more to do.
        await t.settled();
      }
      const pages = read.mock.calls.filter(([q]) => /FROM events e/.test(typeof q === 'string' ? q : (q as { text: string }).text));
      expect(pages).toHaveLength(5);
    } finally {
      read.mockRestore();
    }
  });

  it('writes a settled position without firings at most every 200 ms, and the last one once the ledger is quiet', async () => {
    await t.settled();
    const query = vi.spyOn(t.db.dataSource, 'query');
    try {
      const started = performance.now();
      // No contract triggers on these: each commit wakes the consumer, which finds nothing to fire.
      for (let i = 0; i < 30; i++) await t.emit('noise', 'pat');
      await t.settled();
      const writes = query.mock.calls.filter(([sql]) => /INSERT INTO rules_cursor/.test(String(sql))).length;
      // Each write is a commit of its own: one per wake-up doubled the commits of a burst of one-event appends.
      expect(writes).toBeGreaterThanOrEqual(1);
      expect(writes).toBeLessThanOrEqual(1 + Math.floor((performance.now() - started) / 200));
    } finally {
      query.mockRestore();
    }
  });
});
