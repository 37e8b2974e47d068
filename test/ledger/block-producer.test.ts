import pino from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockProducer } from '../../src/ledger/block-producer.js';
import { Miner } from '../../src/ledger/blocks/index.js';
import { Checkpointer } from '../../src/ledger/checkpointer.js';
import type { LedgerRow } from '../../src/ledger/entities/index.js';
import { NO_METRICS } from '../../src/ledger/metrics.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

/** A producer of its own, as another server process would run, that only seals when told to. */
function producer(ds: DataSource, ledger: LedgerRow, miner: Miner): { sealOne(): Promise<boolean>; forceUpTo: number } {
  const p = new BlockProducer(ds, ledger, miner, () => undefined, new Checkpointer(ds, undefined, () => undefined), pino({ level: 'silent' }), NO_METRICS);
  return p as unknown as { sealOne(): Promise<boolean>; forceUpTo: number };
}

describe('block production across processes', () => {
  it('a block another process sealed after this one looked is not sealed again: the next block starts where it ends', async () => {
    await t.service.createLedger('race', { blockSize: 4, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('race', [{ type: 't', actor: 'a0' }, { type: 't', actor: 'a1' }]);
    const ledger = (await t.service.ledger('race')) as unknown as LedgerRow;
    const ds = t.db.dataSource;
    const miner = new Miner();
    try {
      const other = producer(ds, ledger, miner);
      // This process reads the head (two events, nothing sealed), then — before it reads the last
      // block — a third event lands and the other process seals all three as block 0. Both seal
      // what is pending without waiting for a full block (as when a checkpoint is asked for).
      other.forceUpTo = 3;
      let raced = false;
      const racing = new Proxy(ds, {
        get(target, prop) {
          if (prop !== 'getRepository') return Reflect.get(target, prop);
          return (entity: Parameters<DataSource['getRepository']>[0]) => {
            const repo = target.getRepository(entity);
            return new Proxy(repo, {
              get(r, name) {
                if (name !== 'findOne') return Reflect.get(r, name);
                return async (...args: Parameters<typeof repo.findOne>) => {
                  if (!raced) {
                    raced = true;
                    await t.service.append('race', [{ type: 't', actor: 'a2' }]);
                    expect(await other.sealOne()).toBe(true);
                  }
                  return r.findOne(...args);
                };
              },
            });
          };
        },
      });
      const self = producer(racing, ledger, miner);
      self.forceUpTo = 2;
      for (let i = 0; i < 5 && (await self.sealOne()); i++) {
        /* seal while blocks are due */
      }
      expect(raced).toBe(true);
      const blocks = [await t.service.block('race', 0), await t.service.block('race', 1)];
      expect(blocks.map((b) => b && { startIndex: b.startIndex, treeSize: b.treeSize })).toEqual([{ startIndex: 0, treeSize: 3 }, null]);
      expect((await t.service.verify('race', true)).status).toBe('VALID');
    } finally {
      await miner.close();
    }
  });
});
