import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { blockHash, GENESIS_PREVIOUS_HASH, headerOfStored, meetsDifficulty } from '../../src/ledger/blocks/index.js';
import { checkpointHashAlg, parseCheckpoint, verifyNote } from '../../src/ledger/note/index.js';
import { updateParams } from '../../src/ledger/ledgers.js';
import { checkCheckpointLabels, Checkpointer } from '../../src/ledger/checkpointer.js';
import pino from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { openTestLedger, testConfig, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger();
});
afterAll(async () => t?.close());

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('blocks', () => {
  it('seals full blocks by size, links and mines them, and roots match the stored tree', async () => {
    await t.service.createLedger('bysize', { blockSize: 4, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('bysize', Array.from({ length: 10 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const b1 = await waitFor('two full blocks', () => t.service.block('bysize', 1));
    const b0 = (await t.service.block('bysize', 0))!;
    expect([b0.startIndex, b0.treeSize, b1.startIndex, b1.treeSize]).toEqual([0, 4, 4, 8]);
    expect(b0.previousHash.toString('hex')).toBe(GENESIS_PREVIOUS_HASH);
    expect(b1.previousHash.equals(b0.hash)).toBe(true);
    for (const b of [b0, b1]) {
      const hash = blockHash(headerOfStored(b));
      expect(hash.equals(b.hash)).toBe(true);
      expect(meetsDifficulty(hash, b.difficulty)).toBe(true);
      const root = await t.service.consistencyProof('bysize', 0, b.treeSize);
      expect(b.treeRoot.toString('hex')).toBe(root.toRoot);
    }
    // The 2 events left over wait: the interval is an hour and the block is not full.
    await new Promise((r) => setTimeout(r, 300));
    expect(await t.service.block('bysize', 2)).toBeNull();
    expect(await t.service.blockHeightOf('bysize', 9)).toBeNull();
    expect(await t.service.blockHeightOf('bysize', 5)).toBe(1);
  });

  it('seals a partial block once its oldest event waited maxBlockIntervalMs', async () => {
    await t.service.createLedger('byage', { blockSize: 1000, maxBlockIntervalMs: 100 });
    await t.service.append('byage', [{ type: 't', actor: 'a' }, { type: 't', actor: 'b' }]);
    const b = await waitFor('an interval block', () => t.service.block('byage', 0));
    expect(b.treeSize).toBe(2);
  });

  it('never makes appends wait for mining', async () => {
    // Difficulty 32 takes about an hour per block here: blocks do not finish, appends must not care.
    await t.service.createLedger('hard', { minDifficulty: 32, initialDifficulty: 32, maxDifficulty: 32, blockSize: 2, maxBlockIntervalMs: 50 });
    for (let i = 0; i < 5; i++) {
      const [e] = await t.service.append('hard', [{ type: 't', actor: `a${i}` }, { type: 't', actor: `b${i}` }]);
      expect(e!.index).toBe(i * 2);
    }
    const stats = await t.service.stats('hard');
    expect(stats.treeSize).toBe(10);
    expect(stats.blocks).toBe(0);
    expect(stats.pendingEvents).toBe(10);
  });

  it('retargets difficulty toward the target block time, within bounds', async () => {
    // Blocks come far faster than a 60 s target: difficulty climbs a bit per retarget, capped at max.
    await t.service.createLedger('retarget', {
      blockSize: 1, maxBlockIntervalMs: 50, minDifficulty: 1, initialDifficulty: 1, maxDifficulty: 3,
      targetBlockMs: 60_000, retargetBlocks: 2,
    });
    await t.service.append('retarget', Array.from({ length: 12 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    await waitFor('12 blocks', () => t.service.block('retarget', 11));
    const page = await t.service.blocks('retarget', { first: 20 });
    const difficulties = page.items.map((i) => i.node.difficulty);
    expect(difficulties[0]).toBe(1);
    expect(Math.max(...difficulties)).toBe(3);
    expect(difficulties.every((d) => d >= 1 && d <= 3)).toBe(true);
    for (let i = 1; i < difficulties.length; i++) expect(difficulties[i]! >= difficulties[i - 1]!).toBe(true);
  });

  it('judges each block by the retarget settings it was mined under, after governance changes them', async () => {
    await t.service.createLedger('retune', {
      blockSize: 1, maxBlockIntervalMs: 50, minDifficulty: 1, initialDifficulty: 1, maxDifficulty: 2, targetBlockMs: 60_000, retargetBlocks: 2,
    });
    await t.service.append('retune', Array.from({ length: 4 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    await waitFor('4 blocks', () => t.service.block('retune', 3));
    // As a governance or rules action does: in a transaction, then the running server reloads.
    await t.db.dataSource.transaction((tx) => updateParams(tx, 'retune', { minDifficulty: 5, maxDifficulty: 6, retargetBlocks: 3 }));
    await t.service.parametersChanged('retune');
    await t.service.append('retune', Array.from({ length: 4 }, (_, i) => ({ type: 't', actor: `b${i}` })));
    const last = await waitFor('8 blocks', () => t.service.block('retune', 7));
    expect(last.difficulty).toBeGreaterThanOrEqual(5);
    expect((await t.service.block('retune', 0))!.difficulty).toBe(1);
    for (const full of [false, true]) {
      const report = await t.service.verify('retune', full);
      expect(report.issues).toEqual([]);
      expect(report.status).toBe('VALID');
    }
  });

  it('never dates a block before the one it follows, though the clock goes back', async () => {
    await t.service.createLedger('clock', { blockSize: 1, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('clock', [{ type: 't', actor: 'a' }]);
    const b0 = await waitFor('the first block', () => t.service.block('clock', 0));
    const now = vi.spyOn(Date, 'now').mockReturnValue(b0.timestampMs - 60_000);
    try {
      await t.service.append('clock', [{ type: 't', actor: 'b' }]);
      const b1 = await waitFor('the second block', () => t.service.block('clock', 1));
      expect(b1.timestampMs).toBe(b0.timestampMs);
    } finally {
      now.mockRestore();
    }
    expect((await t.service.verify('clock', true)).status).toBe('VALID');
  });

  it('signs a checkpoint every checkpointInterval events, at a block boundary', async () => {
    await t.service.createLedger('auto', { blockSize: 4, checkpointInterval: 8, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('auto', Array.from({ length: 16 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const cp = await waitFor('checkpoint at 16', () => t.service.checkpoint('auto', 16));
    const first = (await t.service.checkpoint('auto', 8))!;
    expect(first.blockHeight).toBe(1);
    const body = parseCheckpoint(verifyNote(cp.note, [t.service.verifierKey()!]).text);
    expect(body).toMatchObject({ origin: 'test.chainproof/auto', treeSize: 16 });
    const block = (await t.service.block('auto', cp.blockHeight))!;
    // A SHA-256 ledger's note names no hash (C2SP's is SHA-256) and no state: the block and the signing time only.
    expect(body.extensions).toEqual([`block ${block.height} ${block.hash.toString('hex')}`, `time ${cp.timestampMs}`]);
    expect(body.rootHash.equals(block.treeRoot)).toBe(true);
    expect(checkpointHashAlg(body.extensions)).toBe('sha256');
    // A BLAKE3 ledger's checkpoints say so, or a verifier would check its proofs with SHA-256.
    await t.service.createLedger('auto-b3', { hashAlg: 'blake3' });
    await t.service.append('auto-b3', [{ type: 't', actor: 'a' }]);
    const b3 = parseCheckpoint(verifyNote((await t.service.createCheckpoint('auto-b3')).note, [t.service.verifierKey()!]).text);
    expect(checkpointHashAlg(b3.extensions)).toBe('blake3');
  });

  it('names a checkpoint with 1..128 characters and up to 32 tags of 1..64', () => {
    const ok = (name: string | undefined, tags: string[]) => expect(() => checkCheckpointLabels(name, tags)).not.toThrow();
    const refused = (name: string | undefined, tags: string[]) => expect(() => checkCheckpointLabels(name, tags)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    ok('n'.repeat(128), Array.from({ length: 32 }, () => 't'.repeat(64)));
    ok(undefined, []);
    refused('n'.repeat(129), []);
    refused('', []);
    refused(undefined, Array.from({ length: 33 }, () => 't'));
    refused(undefined, ['t'.repeat(65)]);
    refused('a\u0000b', []);
  });

  it('signs a due checkpoint once, however often it is found due at the same block', async () => {
    await t.service.createLedger('due', { blockSize: 4, checkpointInterval: 1_000_000, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('due', Array.from({ length: 4 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const block = await waitFor('the block', () => t.service.block('due', 0));
    const ledger = { ...(await t.service.ledger('due')), checkpointInterval: 4 };
    const checkpointer = new Checkpointer(t.db.dataSource, loadServerKey(t.config, false)!.key, () => undefined);
    expect(await checkpointer.createIfDue(ledger, block)).toMatchObject({ treeSize: 4, blockHeight: 0 });
    expect(await checkpointer.createIfDue(ledger, block)).toBeUndefined();
    expect((await t.service.checkpoints('due', { first: 10 })).items).toHaveLength(1);
  });

  it('measures what is due from the newest checkpoint: at a later block it is signed once as well', async () => {
    await t.service.createLedger('due-later', { blockSize: 4, checkpointInterval: 1_000_000, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('due-later', Array.from({ length: 8 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const first = await waitFor('block 0', () => t.service.block('due-later', 0));
    const second = await waitFor('block 1', () => t.service.block('due-later', 1));
    const ledger = { ...(await t.service.ledger('due-later')), checkpointInterval: 4 };
    const checkpointer = new Checkpointer(t.db.dataSource, loadServerKey(t.config, false)!.key, () => undefined);
    expect(await checkpointer.createIfDue(ledger, first)).toMatchObject({ treeSize: 4, blockHeight: 0 });
    expect(await checkpointer.createIfDue(ledger, second)).toMatchObject({ treeSize: 8, blockHeight: 1 });
    expect(await checkpointer.createIfDue(ledger, second)).toBeUndefined();
    expect((await t.service.checkpoints('due-later', { first: 10 })).items.map((c) => c.node.treeSize).sort()).toEqual([4, 8]);
  });

  it('signs a due checkpoint once when two processes find it due at the same moment', async () => {
    await t.service.createLedger('due-twice', { blockSize: 4, checkpointInterval: 1_000_000, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('due-twice', Array.from({ length: 4 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const block = await waitFor('the block', () => t.service.block('due-twice', 0));
    const ledger = { ...(await t.service.ledger('due-twice')), checkpointInterval: 4 };
    // Each process's look at the last checkpoint waits (up to a second) for the other's: without the
    // lock both would see none and both sign; with it the second looks only once the first committed.
    const ds = t.db.dataSource;
    let looked = 0;
    let both!: () => void;
    const together = new Promise<void>((r) => (both = r));
    const query = (tx: EntityManager) => async (sql: string, params?: unknown[]) => {
      const rows = await tx.query(sql, params);
      if (/max\(tree_size\)/.test(sql)) {
        if (++looked === 2) both();
        await Promise.race([together, new Promise((r) => setTimeout(r, 1000))]);
      }
      return rows;
    };
    const holdingLooks = {
      query: ds.query.bind(ds),
      getRepository: ds.getRepository.bind(ds),
      transaction: <T>(fn: (tx: EntityManager) => Promise<T>) =>
        ds.transaction((tx) => fn(new Proxy(tx, { get: (target, prop) => (prop === 'query' ? query(target) : Reflect.get(target, prop)) }))),
    } as unknown as DataSource;
    const key = loadServerKey(t.config, false)!.key;
    const made = await Promise.all([0, 1].map(() => new Checkpointer(holdingLooks, key, () => undefined).createIfDue(ledger, block)));
    expect(made.filter(Boolean)).toHaveLength(1);
    expect((await t.service.checkpoints('due-twice', { first: 10 })).items).toHaveLength(1);
  });

  it("carries the state root a domain keeps on the ledger, as of the checkpoint's tree size", async () => {
    await t.service.createLedger('stateful', { blockSize: 2, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('stateful', [{ type: 't', actor: 'a' }, { type: 't', actor: 'b' }]);
    const block = await waitFor('the block', () => t.service.block('stateful', 0));
    const checkpointer = new Checkpointer(t.db.dataSource, loadServerKey(t.config, false)!.key, () => undefined);
    checkpointer.addStateRoot('stateful', async (size) => String(size).padStart(64, '0'));
    const cp = await checkpointer.create(await t.service.ledger('stateful'), block);
    const body = parseCheckpoint(verifyNote(cp.note, [t.service.verifierKey()!]).text);
    expect(body.extensions.at(-1)).toBe(`state ${'2'.padStart(64, '0')}`);
  });

  it('on demand: seals what is pending and checkpoints it with a name and tags', async () => {
    await t.service.createLedger('ondemand', { blockSize: 1000, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('ondemand', [{ type: 't', actor: 'a' }, { type: 't', actor: 'b' }, { type: 't', actor: 'c' }]);
    // A refused request seals nothing.
    await expect(t.service.createCheckpoint('ondemand', '', [])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(t.service.createCheckpoint('ondemand', 'x', [''])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await t.service.block('ondemand')).toBeNull();
    const cp = await t.service.createCheckpoint('ondemand', 'release-1', ['prod', 'eu']);
    expect(cp).toMatchObject({ treeSize: 3, name: 'release-1', tags: ['prod', 'eu'], blockHeight: 0 });
    await expect(t.service.createCheckpoint('ondemand', '', [])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    // What was asked for is sealed; what comes after waits for a full block or the interval again.
    await t.service.append('ondemand', [{ type: 't', actor: 'd' }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await t.service.block('ondemand', 1)).toBeNull();
    await t.service.createLedger('empty', {});
    await expect(t.service.createCheckpoint('empty')).rejects.toMatchObject({ code: 'NOTHING_TO_CHECKPOINT' });
  });

  it('checkpoint ids commit in the order they are drawn, so a cursor never passes one still to come', async () => {
    await t.service.createLedger('cursor', { blockSize: 1000, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('cursor', [{ type: 't', actor: 'a' }]);
    const before = (await t.service.checkpoints('cursor', { first: 100 })).items.length;
    // One insert held up after drawing its id (test database only), another right behind it.
    await t.db.dataSource.query(`CREATE FUNCTION slow_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.name = 'slow' THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$`);
    await t.db.dataSource.query(`CREATE TRIGGER slow_checkpoint BEFORE INSERT ON checkpoints FOR EACH ROW EXECUTE FUNCTION slow_checkpoint()`);
    try {
      const slow = t.service.createCheckpoint('cursor', 'slow');
      // Until the slow insert has drawn its id and sleeps; on the embedded database (one session)
      // this look waits behind it, and finds it committed.
      for (;;) {
        const [r] = await t.db.dataSource.query(
          `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep') OR EXISTS (SELECT 1 FROM checkpoints WHERE name = 'slow') AS started`,
        );
        if (r.started) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await t.service.createCheckpoint('cursor', 'fast');
      // Whoever reads as soon as the later one is answered sees the earlier one too.
      const seen = (await t.service.checkpoints('cursor', { first: 100 })).items.map((i) => i.node.name);
      expect(seen.slice(before)).toEqual(['slow', 'fast']);
      await slow;
    } finally {
      await t.db.dataSource.query(`DROP TRIGGER slow_checkpoint ON checkpoints; DROP FUNCTION slow_checkpoint()`);
    }
  });

  it('subscribers receive blocks and checkpoints as they are made', async () => {
    await t.service.createLedger('live', { blockSize: 2, checkpointInterval: 2, maxBlockIntervalMs: 3_600_000 });
    const blocks = await t.service.subscribe('block', 'live');
    const checkpoints = await t.service.subscribe('checkpoint', 'live');
    await t.service.append('live', [{ type: 't', actor: 'a' }, { type: 't', actor: 'b' }]);
    const b = await blocks.next();
    const c = await checkpoints.next();
    expect(b.value.height).toBe(0);
    expect(c.value.treeSize).toBe(2);
    await blocks.return!();
    await checkpoints.return!();
  });
});

describe('a process that does not produce blocks', () => {
  it('seals when asked to checkpoint, and not on the commits it makes afterwards', async () => {
    const cli = await openTestLedger({}, { produceBlocks: false });
    try {
      await cli.service.append('main', [{ type: 'x', actor: 'a' }]);
      await cli.service.createCheckpoint('main');
      const sealed = (await cli.service.block('main'))!.height;
      // Twice a block's worth, and well past the block interval (50 ms here): a producer would seal now.
      for (let i = 0; i < 16; i++) await cli.service.append('main', [{ type: 'x', actor: 'a' }]);
      await new Promise((r) => setTimeout(r, 500));
      expect((await cli.service.block('main'))!.height).toBe(sealed);
    } finally {
      await cli.close();
    }
  });
});

describe('a second key on a database another key already signs', () => {
  it('signs no checkpoint: SIGNING_KEY_MISMATCH, the log keeps one key', async () => {
    const first = await openTestLedger({}, { produceBlocks: false });
    // As a process started with another seed before the first checkpoint would be (start-up found nothing to check).
    const config = testConfig({ CHAINPROOF_SIGNING_SEED: '11'.repeat(32) });
    const other = new LedgerService(first.db.dataSource, config, loadServerKey(config, false)!.key, pino({ level: 'silent' }), { produceBlocks: false });
    try {
      await other.start();
      await first.service.append('main', [{ type: 'x', actor: 'a' }]);
      await first.service.createCheckpoint('main');
      await other.append('main', [{ type: 'x', actor: 'b' }]);
      await expect(other.createCheckpoint('main')).rejects.toMatchObject({ code: 'SIGNING_KEY_MISMATCH' });
      expect((await first.service.checkpoints('main', { first: 10 })).items).toHaveLength(1);
    } finally {
      await other.stop();
      await first.close();
    }
  });
});

describe('a checkpoint due at a block its sealer never signed', () => {
  it('is signed by the next process to look, once, though two look at once', async () => {
    const base = await openTestLedger({}, { produceBlocks: false });
    // A process that seals but cannot sign stands for one that died between its block and its checkpoint.
    const config = testConfig();
    const sealer = new LedgerService(base.db.dataSource, config, undefined, pino({ level: 'silent' }));
    const signers = [0, 1].map(() => new LedgerService(base.db.dataSource, config, loadServerKey(config, false)!.key, pino({ level: 'silent' })));
    try {
      await base.service.createLedger('orphan', { blockSize: 5, checkpointInterval: 5, maxBlockIntervalMs: 3_600_000 });
      await sealer.start(['orphan']);
      await sealer.append('orphan', Array.from({ length: 5 }, (_, i) => ({ type: 't', actor: `a${i}` })));
      await waitFor('the block', () => sealer.block('orphan', 0));
      await sealer.stop();
      expect((await base.service.checkpoints('orphan', { first: 10 })).items).toHaveLength(0);
      // Nothing more is appended: the checkpoint comes from the producers' idle passes.
      await Promise.all(signers.map((s) => s.start(['orphan'])));
      const cp = await waitFor('its checkpoint', () => base.service.checkpoint('orphan', 5));
      expect(cp.blockHeight).toBe(0);
      await new Promise((r) => setTimeout(r, 600));
      expect((await base.service.checkpoints('orphan', { first: 10 })).items).toHaveLength(1);
    } finally {
      await Promise.all(signers.map((s) => s.stop()));
      await base.close();
    }
  });
});

describe('a parameter change whose notification never came', () => {
  it('seals the next blocks under the committed parameters all the same', async () => {
    await t.service.createLedger('unannounced', { blockSize: 100, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('unannounced', [{ type: 't', actor: 'warm' }]);
    // As a process that committed the change and died before telling anyone: no parametersChanged.
    await t.db.dataSource.transaction((tx) => updateParams(tx, 'unannounced', { blockSize: 3 }));
    await t.service.append('unannounced', Array.from({ length: 6 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const b1 = await waitFor('two blocks of 3', () => t.service.block('unannounced', 1));
    expect([b1.startIndex, b1.treeSize]).toEqual([3, 6]);
  });
});

describe('a block being mined when its difficulty bounds change', () => {
  it('is given up and sealed again under the new bounds', async () => {
    // 30 bits: minutes to hours of work on these cores, were it kept.
    await t.service.createLedger('too-hard', { blockSize: 2, minDifficulty: 30, maxDifficulty: 30, initialDifficulty: 30, maxBlockIntervalMs: 3_600_000 });
    await t.service.append('too-hard', [{ type: 't', actor: 'a' }, { type: 't', actor: 'b' }]);
    const producer = (t.service as unknown as { producers: Map<string, { mining?: unknown }> }).producers.get('too-hard')!;
    await waitFor('mining to start', async () => producer.mining !== undefined);
    // A minimum raised past it gives it up as well as a maximum lowered under it.
    await t.db.dataSource.transaction((tx) => updateParams(tx, 'too-hard', { minDifficulty: 31, maxDifficulty: 31 }));
    await t.service.parametersChanged('too-hard');
    await waitFor('mining at the new minimum', async () => (producer.mining as { difficulty: number } | undefined)?.difficulty === 31);
    await t.db.dataSource.transaction((tx) => updateParams(tx, 'too-hard', { minDifficulty: 2, maxDifficulty: 4 }));
    await t.service.parametersChanged('too-hard');
    const block = await waitFor('the block, mined under the new bounds', () => t.service.block('too-hard', 0), 15_000);
    expect(block.difficulty).toBeLessThanOrEqual(4);
    expect((await t.service.verify('too-hard', true)).status).toBe('VALID');
  });
});
