import { expect } from 'vitest';
import { splitIds } from '../../src/ledger/events/event.js';
import type { TestLedger } from './ledger.js';
import { expectValid } from '../verify/support.js';

export interface ChainRow {
  index: number;
  id: string;
  parents: string[];
  hlc: [number, number];
  actor: string;
}

/** Every event of `ledger` in order: consecutive indexes, each the child of the one before, HLCs increasing, and a VALID full verification. */
export async function expectOneChain(t: TestLedger, ledger: string): Promise<ChainRow[]> {
  const { id } = await t.service.ledger(ledger);
  const rows: Array<{ idx: string; id: Buffer; parents: Buffer; hlc_ms: string; hlc_logical: number; actor: string }> = await t.db.dataSource.query(
    `SELECT idx, id, parents, hlc_ms, hlc_logical, actor FROM events WHERE ledger_id = $1 ORDER BY idx`,
    [id],
  );
  const all: ChainRow[] = rows.map((r) => ({
    index: Number(r.idx),
    id: Buffer.from(r.id).toString('hex'),
    parents: splitIds(Buffer.from(r.parents)),
    hlc: [Number(r.hlc_ms), r.hlc_logical],
    actor: r.actor,
  }));
  all.forEach((e, i) => {
    expect(e.index).toBe(i);
    if (i > 0) {
      expect(e.parents).toEqual([all[i - 1]!.id]);
      const [ms, logical] = all[i - 1]!.hlc;
      expect(e.hlc[0] > ms || (e.hlc[0] === ms && e.hlc[1] > logical)).toBe(true);
    }
  });
  expectValid(await t.service.verify(ledger, true));
  return all;
}
