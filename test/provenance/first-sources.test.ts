import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirstSources } from '../../src/provenance/first-sources.js';
import { countedDataSource, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
let ledgerId: number;
beforeAll(async () => {
  t = await openTestProvenance();
  ledgerId = (await t.service.ledger('main')).id;
});
afterAll(async () => t?.close());

/** A FirstSources whose statements are counted. */
function counted(capacity?: number) {
  const { db, seen } = countedDataSource(t);
  return { sources: new FirstSources(db, capacity), seen };
}

const record = (name: string, locator: string) => t.prov.recordSource('main', { locator, contentHash: sha(name) }, 'curator');

describe('FirstSources', () => {
  it('gives the first recording of a content hash, and keeps giving it without a statement', async () => {
    await record('fs-a', 'git://first');
    await record('fs-a', 'git://second');
    const { sources, seen } = counted();
    const first = await sources.of(ledgerId, [sha('fs-a')]);
    expect(first.get(sha('fs-a'))?.locator).toBe('git://first');
    expect(seen.statements).toBe(1);

    await record('fs-a', 'git://third');
    const again = await sources.of(ledgerId, [sha('fs-a'), sha('fs-a')]);
    expect(again.get(sha('fs-a'))?.locator).toBe('git://first');
    expect(seen.statements).toBe(1);
    expect(Object.isFrozen(again.get(sha('fs-a')))).toBe(true);
  });

  it('does not remember a content hash that has no recording yet', async () => {
    const { sources, seen } = counted();
    expect((await sources.of(ledgerId, [sha('fs-later')])).size).toBe(0);
    await record('fs-later', 'git://later');
    expect((await sources.of(ledgerId, [sha('fs-later')])).get(sha('fs-later'))?.locator).toBe('git://later');
    expect(seen.statements).toBe(2);
  });

  it('reads only the hashes it does not hold, and keeps what was used since its older generation went', async () => {
    for (const name of ['fs-1', 'fs-2', 'fs-3']) await record(name, `git://${name}`);
    const { sources, seen } = counted(4); // two generations of 2
    await sources.of(ledgerId, [sha('fs-1'), sha('fs-2')]); // the recent generation is full: it becomes the older one
    await sources.of(ledgerId, [sha('fs-1')]); // fs-1 moves to the recent generation
    expect(seen.statements).toBe(1);
    const mixed = await sources.of(ledgerId, [sha('fs-1'), sha('fs-3')]); // one statement, for fs-3; then fs-2 is dropped
    expect([...mixed.values()].map((s) => s.locator).sort()).toEqual(['git://fs-1', 'git://fs-3']);
    expect(seen.statements).toBe(2);
    await sources.of(ledgerId, [sha('fs-1'), sha('fs-3')]);
    expect(seen.statements).toBe(2);
    expect((await sources.of(ledgerId, [sha('fs-2')])).get(sha('fs-2'))?.locator).toBe('git://fs-2');
    expect(seen.statements).toBe(3);
  });

  it('keeps ledgers apart', async () => {
    const other = await t.service.createLedger('fs-other', {});
    await record('fs-shared', 'git://main-copy');
    const { sources } = counted();
    expect((await sources.of(ledgerId, [sha('fs-shared')])).size).toBe(1);
    expect((await sources.of(other.id, [sha('fs-shared')])).size).toBe(0);
  });
});
