import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  blockHash,
  GENESIS_PREVIOUS_HASH,
  meetsDifficulty,
  Miner,
  type BlockTemplate,
} from '../../src/ledger/blocks/index.js';

const template = (difficulty: number, extra: Partial<BlockTemplate> = {}): BlockTemplate => ({
  height: 1,
  previousHash: GENESIS_PREVIOUS_HASH,
  eventsRoot: 'ab'.repeat(32),
  treeSize: 10,
  treeRoot: 'cd'.repeat(32),
  timestamp: 1_700_000_000_000,
  difficulty,
  ...extra,
});

describe('Miner', () => {
  const miner = new Miner();
  const pair = new Miner({ workers: 2 });
  afterAll(async () => {
    await Promise.all([miner.close(), pair.close()]);
  });

  // Linux keeps a nice value per thread: field 19 of /proc/self/task/<tid>/stat.
  it.runIf(existsSync('/proc/self/task'))('mines at nice 19, leaving the CPU to requests', async () => {
    await miner.mine(template(4, { height: 99 }));
    const nices = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    expect(nices).toContain(19);
    expect(nices).toContain(0); // the main thread keeps its priority
  });

  it.each([
    ['one worker', miner],
    ['two workers', pair],
  ])('mines headers that meet the difficulty (%s)', async (_label, m) => {
    for (const difficulty of [0, 1, 8, 14]) {
      const t = template(difficulty, { height: difficulty });
      const { nonce, hash } = await m.mine(t);
      const recomputed = blockHash({ ...t, nonce });
      expect(recomputed.toString('hex')).toBe(hash);
      expect(meetsDifficulty(recomputed, difficulty)).toBe(true);
    }
  });

  it('with one worker, finds the lowest nonce that meets the difficulty', async () => {
    for (let difficulty = 0; difficulty <= 6; difficulty++) {
      const t = template(difficulty, { height: 1000 + difficulty });
      let lowest = 0;
      while (!meetsDifficulty(blockHash({ ...t, nonce: lowest }), difficulty)) lowest++;
      expect((await miner.mine(t)).nonce).toBe(lowest);
    }
  });

  it('hashes exactly what blockHash hashes, for arbitrary headers', async () => {
    const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          height: fc.maxSafeNat(),
          previousHash: hex64,
          eventsRoot: fc.oneof(hex64, fc.string({ unit: 'binary' })),
          treeSize: fc.maxSafeNat(),
          treeRoot: fc.oneof(hex64, fc.string({ unit: 'grapheme' })),
          timestamp: fc.maxSafeNat(),
          difficulty: fc.integer({ min: 0, max: 2 }),
        }),
        async (t) => {
          const { nonce, hash } = await miner.mine(t);
          expect(blockHash({ ...t, nonce }).toString('hex')).toBe(hash);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stops promptly when aborted', async () => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const err = await miner.mine(template(40), controller.signal).catch((e: unknown) => e);
    clearTimeout(timer);
    const elapsed = performance.now() - started;
    expect((err as Error).name).toBe('AbortError');
    expect(elapsed).toBeLessThan(1000);
    // The worker must have let go of the abandoned search to take the next one.
    const t = template(4);
    const { nonce, hash } = await miner.mine(t);
    expect(blockHash({ ...t, nonce }).toString('hex')).toBe(hash);
  });

  it('rejects with the abort reason and never starts for an already-aborted signal', async () => {
    await expect(miner.mine(template(40), AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    const reason = new Error('shutting down');
    await expect(miner.mine(template(40), AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('runs jobs in order and lets a queued job be aborted', async () => {
    const first = new AbortController();
    const second = new AbortController();
    const a = miner.mine(template(40), first.signal);
    const b = miner.mine(template(40, { height: 2 }), second.signal);
    const c = miner.mine(template(6, { height: 3 }));
    second.abort();
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    first.abort();
    await expect(a).rejects.toMatchObject({ name: 'AbortError' });
    const { nonce, hash } = await c;
    expect(blockHash({ ...template(6, { height: 3 }), nonce }).toString('hex')).toBe(hash);
  });

  it('rejects invalid templates without mining', async () => {
    await expect(miner.mine(template(300))).rejects.toThrow(RangeError);
    await expect(miner.mine(template(1, { previousHash: 'xyz' }))).rejects.toThrow(TypeError);
    // The worker's JSON.stringify would encode a lone surrogate that blockHash (JCS) cannot.
    await expect(miner.mine(template(1, { eventsRoot: 'x\ud800' }))).rejects.toThrow(TypeError);
  });

  it('keeps the main thread responsive while mining', async () => {
    const intervalMs = 5;
    let ticks = 0;
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, intervalMs);
    const started = performance.now();
    const t = template(20, { height: 20 });
    const { nonce, hash } = await miner.mine(t);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(meetsDifficulty(Buffer.from(hash, 'hex'), 20)).toBe(true);
    expect(blockHash({ ...t, nonce }).toString('hex')).toBe(hash);
    // Generous bounds: only a main thread blocked by hashing would miss them.
    expect(maxGap).toBeLessThan(250);
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / intervalMs / 4));
  });

  it('rejects pending and future work once closed', async () => {
    const m = new Miner();
    const pending = expect(m.mine(template(40))).rejects.toThrow('Miner is closed');
    await new Promise((r) => setTimeout(r, 20));
    await m.close();
    await pending;
    await expect(m.mine(template(1))).rejects.toThrow('Miner is closed');
  });

  it('validates its options', () => {
    expect(() => new Miner({ workers: 0 })).toThrow(RangeError);
    expect(() => new Miner({ workers: 1.5 })).toThrow(RangeError);
  });
});
