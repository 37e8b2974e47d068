import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/ledger/events/event.js';
import { projectProvenance } from '../../src/provenance/projection.js';
import type { QueryPayload } from '../../src/provenance/records.js';
import { openTestProvenance, type TestProvenance } from './support.js';

let t: TestProvenance;
beforeAll(async () => {
  t = await openTestProvenance();
});
afterAll(async () => t?.close());

/**
 * Reads of a time window find its leaves by binary search (audit-leaves.ts), exact only while
 * audit times never go back along leaf order. The sequencer never writes such a batch; the
 * projection refuses one from any other path, as these hand-made events stand in for.
 */
describe('query audit times along leaf order', () => {
  let recorded: LedgerEvent[];
  let ledgerId: number;
  beforeAll(async () => {
    recorded = await t.prov.recordQueries(
      'main',
      [0, 1].map((i) => ({ agentId: 'clock', subject: `clock/${i}`, predicate: 'p', result: i, contributingAssertions: [] })),
      'x',
    );
    ledgerId = (await t.service.ledger('main')).id;
  });

  /** A copy of a recorded audit's event at leaf `index`, stamped `physicalMs`, under a fresh queryId. */
  const audit = (index: number, physicalMs: number): LedgerEvent => {
    const e = recorded[1]!;
    return { ...e, index, hlc: { physicalMs, logical: 0 }, payload: { ...(e.payload as QueryPayload), queryId: `clock-${index}` } };
  };
  const project = (events: LedgerEvent[]) =>
    t.db.dataSource.transaction((tx) => projectProvenance(tx, ledgerId, events, { check: true }));
  const rows = async () => (await t.db.dataSource.query(`SELECT count(*)::int AS n FROM prov_query_audits WHERE agent_id = 'clock'`))[0].n;

  it('refuses a batch whose times go back, within it or behind the audit before it, and writes none of it', async () => {
    const last = recorded[1]!;
    const next = last.index + 1;
    const at = last.hlc.physicalMs;
    await expect(project([audit(next, at + 10), audit(next + 1, at + 9)])).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('earlier time') });
    await expect(project([audit(next, at - 1)])).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('earlier time') });
    expect(await rows()).toBe(2);
  });

  it('takes a batch at the same time as the audit before it, or later', async () => {
    const last = recorded[1]!;
    await project([audit(last.index + 1, last.hlc.physicalMs), audit(last.index + 2, last.hlc.physicalMs + 5)]);
    expect(await rows()).toBe(4);
  });
});
