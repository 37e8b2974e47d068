import type { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChainproofError } from '../../src/errors.js';
import { MAX_PAYLOAD_DEPTH, parseCanonical } from '../../src/ledger/events/envelope.js';
import type { AppendInput, LedgerEvent } from '../../src/ledger/events/event.js';
import { treeHasher, verifyInclusion, verifyConsistency } from '../../src/ledger/merkle/index.js';
import { nextHlc } from '../../src/ledger/sequencer.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { newAuthor } from '../support/signing.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

const count = async (ledger: string) => (await t.service.head(ledger)).treeSize;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ChainproofError);
    return (e as ChainproofError).code;
  }
  throw new Error('expected a ChainproofError');
}

/** Appends `requests` so that one transaction sequences them all: they queue behind one held open. */
async function inOneBatch(ledger: string, requests: AppendInput[][]): Promise<PromiseSettledResult<LedgerEvent[]>[]> {
  let release!: () => void;
  let enter!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const entered = new Promise<void>((r) => (enter = r));
  const holding = t.service.append(ledger, [{ type: 'hold', actor: 'h' }], { projection: async () => { enter(); await held; } });
  await entered;
  const results = Promise.allSettled(requests.map((r) => t.service.append(ledger, r)));
  const queue = (t.service as unknown as { sequencers: Map<string, { queue: unknown[] }> }).sequencers.get(ledger)!.queue;
  while (queue.length < requests.length) await new Promise((r) => setTimeout(r, 5));
  release();
  await holding;
  return results;
}

describe('append', () => {
  it('sequences events, stores canonical bytes whose leaf hash is the id, and chains them', async () => {
    await t.service.createLedger('basic', {});
    const [a] = await t.service.append('basic', [{ type: 'user.login', actor: 'alice', payload: { ip: '10.0.0.1' } }]);
    const [b, c] = await t.service.append('basic', [
      { type: 'user.logout', actor: 'alice' },
      { type: 'config.changed', actor: 'bob', resource: 'auth/session', result: 'success' },
    ]);
    expect([a!.index, b!.index, c!.index]).toEqual([0, 1, 2]);
    expect(treeHasher('sha256').leafHash(a!.canonical).toString('hex')).toBe(a!.id);
    const env = parseCanonical(c!.canonical);
    expect(env.ledger).toBe('test.chainproof/basic');
    expect(env.parents).toEqual([b!.id]);
    expect(b!.parents).toEqual([a!.id]);
    expect(env).not.toHaveProperty('author'); // absent optional fields are omitted
    expect((await t.service.head('basic')).tips).toBe(1);
    const stored = await t.service.event('basic', c!.id);
    expect(stored?.canonical.equals(c!.canonical)).toBe(true);
  });

  it('hashes every optional field it stores: each is in the canonical envelope', async () => {
    const fields = { author: 'did:web:example.org', resource: 'r', subsystem: 's', result: 'ok', correlationId: 'c', payload: { n: 1 } };
    const [e] = await t.service.append('main', [{ type: 'full', actor: 'a', ...fields }]);
    expect(parseCanonical(e!.canonical)).toMatchObject(fields);
  });

  it('assigns HLCs after the parents and monotonically', async () => {
    await t.service.createLedger('clock', {});
    const events = await t.service.append('clock', Array.from({ length: 50 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    for (let i = 1; i < events.length; i++) {
      const [p, e] = [events[i - 1]!.hlc, events[i]!.hlc];
      expect(e.physicalMs > p.physicalMs || (e.physicalMs === p.physicalMs && e.logical > p.logical)).toBe(true);
    }
  });

  it('group-commits concurrent appends into one gap-free sequence', async () => {
    await t.service.createLedger('concurrent', {});
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => t.service.append('concurrent', [{ type: 'tick', actor: `c${i}` }])),
    );
    const indexes = results.map((r) => r[0]!.index).sort((x, y) => x - y);
    expect(indexes).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(await count('concurrent')).toBe(200);
  });

  it('returns the first result for a retried idempotency key, within and across calls', async () => {
    await t.service.createLedger('idem', {});
    const [first] = await t.service.append('idem', [{ type: 'pay', actor: 'a', idempotencyKey: 'k-1' }]);
    const again = await Promise.all([
      t.service.append('idem', [{ type: 'pay', actor: 'a', idempotencyKey: 'k-1' }]),
      t.service.append('idem', [{ type: 'pay', actor: 'a', idempotencyKey: 'k-1' }]),
    ]);
    expect(again.map((r) => r[0]!.id)).toEqual([first!.id, first!.id]);
    const batch = await t.service.append('idem', [
      { type: 'x', actor: 'a', idempotencyKey: 'k-2' },
      { type: 'x', actor: 'a', idempotencyKey: 'k-2' },
    ]);
    expect(batch[0]!.id).toBe(batch[1]!.id);
    expect(await count('idem')).toBe(2);
  });

  it('refuses a different event under a used idempotency key with CONFLICT, and appends nothing', async () => {
    await t.service.createLedger('idem-conflict', {});
    const [first] = await t.service.append('idem-conflict', [{ type: 'pay', actor: 'a', payload: { amount: 10 }, idempotencyKey: 'k' }]);
    const different: AppendInput[] = [
      { type: 'pay', actor: 'a', payload: { amount: 11 }, idempotencyKey: 'k' },
      { type: 'pay', actor: 'b', payload: { amount: 10 }, idempotencyKey: 'k' },
      { type: 'pay', actor: 'a', payload: { amount: 10 }, resource: 'acct/1', idempotencyKey: 'k' },
      { type: 'pay', actor: 'a', idempotencyKey: 'k' },
      { type: 'pay', actor: 'a', payload: { amount: 10 }, hlc: { physicalMs: first!.hlc.physicalMs + 5, logical: 0 }, idempotencyKey: 'k' },
    ];
    for (const input of different) expect(await codeOf(t.service.append('idem-conflict', [input]))).toBe('CONFLICT');
    // All or nothing: the fresh event beside the conflicting one is not written either.
    expect(await codeOf(t.service.append('idem-conflict', [{ type: 'other', actor: 'a' }, different[0]!]))).toBe('CONFLICT');
    // Racing in one group commit: the first write takes the key, the different one is refused.
    const raced = await Promise.allSettled([
      t.service.append('idem-conflict', [{ type: 'pay', actor: 'a', idempotencyKey: 'k-race' }]),
      t.service.append('idem-conflict', [{ type: 'refund', actor: 'a', idempotencyKey: 'k-race' }]),
    ]);
    expect(raced.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(((raced[1] as PromiseRejectedResult).reason as ChainproofError).code).toBe('CONFLICT');
    // A true retry, key order and all, still returns the first event; explicit parents equal to the first's too.
    const [retry] = await t.service.append('idem-conflict', [{ idempotencyKey: 'k', payload: { amount: 10 }, actor: 'a', type: 'pay' }]);
    expect(retry!.id).toBe(first!.id);
    const [withParents] = await t.service.append('idem-conflict', [{ type: 'pay', actor: 'a', payload: { amount: 10 }, parents: first!.parents, idempotencyKey: 'k' }]);
    expect(withParents!.id).toBe(first!.id);
    expect(await count('idem-conflict')).toBe(2);
  });

  it('refuses a signed event whose bytes differ from the one its idempotency key wrote', async () => {
    await t.service.createLedger('idem-signed', {});
    const [genesis] = await t.service.append('idem-signed', [{ type: 'g', actor: 'srv' }]);
    const author = newAuthor();
    const hlc = { physicalMs: genesis!.hlc.physicalMs + 1, logical: 0 };
    const one = author.sign('test.chainproof/idem-signed', { type: 'vote', actor: 'alice', payload: { v: 1 } }, [genesis!.id], hlc);
    const two = author.sign('test.chainproof/idem-signed', { type: 'vote', actor: 'alice', payload: { v: 2 } }, [genesis!.id], hlc);
    const [e] = await t.service.append('idem-signed', [{ ...one, idempotencyKey: 'sig' }]);
    expect(await codeOf(t.service.append('idem-signed', [{ ...two, idempotencyKey: 'sig' }]))).toBe('CONFLICT');
    const [retry] = await t.service.append('idem-signed', [{ ...one, idempotencyKey: 'sig' }]);
    expect(retry!.id).toBe(e!.id);
    expect(await count('idem-signed')).toBe(2);
  });

  it('accepts explicit parents, opening and merging branches', async () => {
    await t.service.createLedger('dag', {});
    const [root] = await t.service.append('dag', [{ type: 'root', actor: 'a' }]);
    const [left] = await t.service.append('dag', [{ type: 'left', actor: 'a', parents: [root!.id] }]);
    const [right] = await t.service.append('dag', [{ type: 'right', actor: 'a', parents: [root!.id] }]);
    expect((await t.service.head('dag')).tips).toBe(2);
    const [merge] = await t.service.append('dag', [{ type: 'merge', actor: 'a' }]);
    expect(new Set(merge!.parents)).toEqual(new Set([left!.id, right!.id]));
    expect((await t.service.head('dag')).tips).toBe(1);
  });

  it('accepts an event signed by its did:key author and never changes its bytes; a retry is idempotent', async () => {
    await t.service.createLedger('signed', {});
    const [genesis] = await t.service.append('signed', [{ type: 'g', actor: 'srv' }]);
    const author = newAuthor();
    const hlc = { physicalMs: Date.now(), logical: 0 };
    const input = author.sign('test.chainproof/signed', { type: 'vote', actor: 'alice', payload: { v: 1 } }, [genesis!.id], {
      physicalMs: Math.max(hlc.physicalMs, genesis!.hlc.physicalMs + 1),
      logical: 0,
    });
    const [e] = await t.service.append('signed', [input]);
    expect(e!.signature).toBe(input.signature);
    expect(e!.author).toBe(author.did);
    const [retry] = await t.service.append('signed', [input]);
    expect(retry!.index).toBe(e!.index);
    expect(await count('signed')).toBe(2);
  });

  it("keeps the first of the server's own events under a key, and answers a different one with it rather than CONFLICT", async () => {
    // A block reward written again after a crash: at most once, whatever the second attempt says.
    await t.service.createLedger('server-once', {});
    const [first] = await t.service.append('server-once', [{ type: 'reward', actor: 'a', idempotencyKey: 'reward-0' }], { asServer: true });
    const [again] = await t.service.append('server-once', [{ type: 'reward', actor: 'b', idempotencyKey: 'reward-0' }], { asServer: true });
    expect(again!.id).toBe(first!.id);
    expect(await count('server-once')).toBe(1);
  });

  it('never dates an event before the one appended ahead of it, though the clock goes back', async () => {
    await t.service.createLedger('clock-back', {});
    const [first] = await t.service.append('clock-back', [{ type: 't', actor: 'a' }]);
    const now = vi.spyOn(Date, 'now').mockReturnValue(first!.appendedAt.getTime() - 60_000);
    try {
      const [second] = await t.service.append('clock-back', [{ type: 't', actor: 'b' }]);
      expect(second!.appendedAt.getTime()).toBe(first!.appendedAt.getTime());
    } finally {
      now.mockRestore();
    }
  });

  it('signs the server\'s own events with its key', async () => {
    await t.service.createLedger('server', {});
    const [e] = await t.service.append('server', [{ type: 'rule.fired', actor: 'server' }], { asServer: true });
    expect(e!.author).toBe(t.service.serverKey!.did);
    expect(e!.signature).toMatch(/^[0-9a-f]{128}$/);
  });

  describe('refuses bad input with a code and appends nothing', () => {
    beforeAll(async () => {
      await t.service.createLedger('bad', {});
      await t.service.append('bad', [{ type: 'seed', actor: 'a' }]);
    });
    const cases: Array<[string, string, () => Promise<unknown>]> = [
      ['unknown ledger', 'UNKNOWN_LEDGER', () => t.service.append('nope', [{ type: 't', actor: 'a' }])],
      ['missing type', 'BAD_USER_INPUT', () => t.service.append('bad', [{ type: '', actor: 'a' }])],
      ['bad parent hex', 'BAD_USER_INPUT', () => t.service.append('bad', [{ type: 't', actor: 'a', parents: ['xyz'] }])],
      ['unknown parent', 'UNKNOWN_PARENT', () => t.service.append('bad', [{ type: 't', actor: 'a', parents: ['ab'.repeat(32)] }])],
      ['oversized payload', 'PAYLOAD_TOO_LARGE', () => t.service.append('bad', [{ type: 't', actor: 'a', payload: { s: 'x'.repeat(70_000) } }])],
      ['batch over the limit', 'BATCH_TOO_LARGE', () => t.service.append('bad', Array.from({ length: 1001 }, () => ({ type: 't', actor: 'a' })))],
      ['hlc out of skew', 'HLC_OUT_OF_SKEW', () => t.service.append('bad', [{ type: 't', actor: 'a', hlc: { physicalMs: Date.now() + 3_600_000, logical: 0 } }])],
      ['bad signature hex', 'BAD_USER_INPUT', () => t.service.append('bad', [{ type: 't', actor: 'a', signature: 'zz' }])],
      [
        'signature by someone else',
        'BAD_SIGNATURE',
        async () => {
          const signed = newAuthor().sign('test.chainproof/bad', { type: 't', actor: 'a' }, [], { physicalMs: Date.now(), logical: 0 });
          return t.service.append('bad', [{ ...signed, author: newAuthor().did }]);
        },
      ],
      [
        'tampered signed payload',
        'BAD_SIGNATURE',
        async () => {
          const signed = newAuthor().sign('test.chainproof/bad', { type: 't', actor: 'a', payload: 1 }, [], { physicalMs: Date.now(), logical: 0 });
          return t.service.append('bad', [{ ...signed, payload: 2 }]);
        },
      ],
      [
        'one bad event in a batch',
        'UNKNOWN_PARENT',
        () => t.service.append('bad', [{ type: 'ok', actor: 'a' }, { type: 't', actor: 'a', parents: ['cd'.repeat(32)] }]),
      ],
    ];
    for (const [name, code, run] of cases) {
      it(name, async () => {
        const before = await t.service.head('bad').catch(() => null);
        expect(await codeOf(run())).toBe(code);
        const after = await t.service.head('bad');
        expect(after).toEqual(before);
      });
    }

    it('a client HLC after one parent but not after the other', async () => {
      const [older] = await t.service.append('bad', [{ type: 'p', actor: 'a', parents: [] }]);
      const [newer] = await t.service.append('bad', [{ type: 'p', actor: 'a', parents: [], hlc: { physicalMs: older!.hlc.physicalMs + 1000, logical: 0 } }]);
      const between = { physicalMs: older!.hlc.physicalMs + 500, logical: 0 };
      expect(await codeOf(t.service.append('bad', [{ type: 't', actor: 'a', parents: [older!.id, newer!.id], hlc: between }]))).toBe('HLC_NOT_AFTER_PARENT');
    });

    it('a client HLC not after its parent', async () => {
      const [p] = await t.service.append('bad', [{ type: 'p', actor: 'a' }]);
      const before = await count('bad');
      const code = await codeOf(
        t.service.append('bad', [{ type: 't', actor: 'a', parents: [p!.id], hlc: { physicalMs: p!.hlc.physicalMs - 1, logical: 0 } }]),
      );
      expect(code).toBe('HLC_NOT_AFTER_PARENT');
      // Equal is not after: an event must stamp strictly later than each of its parents.
      expect(await codeOf(t.service.append('bad', [{ type: 't', actor: 'a', parents: [p!.id], hlc: p!.hlc }]))).toBe('HLC_NOT_AFTER_PARENT');
      expect(await count('bad')).toBe(before);
    });

    it('a request refused in a group commit leaves nothing of itself to the requests after it', async () => {
      await t.service.createLedger('rolled-back', {});
      const [tip] = await t.service.append('rolled-back', [{ type: 'tip', actor: 'a' }]);
      const ahead = { physicalMs: Date.now() + 20_000, logical: 0 };
      const first = { type: 'x', actor: 'a', parents: [tip!.id], hlc: ahead, idempotencyKey: 'rolled-back-1' };
      const [refused, plain, again] = await inOneBatch('rolled-back', [
        [first, { type: 'y', actor: 'a', parents: ['ef'.repeat(32)] }],
        [{ type: 'z', actor: 'b' }],
        [first],
      ]);
      expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'UNKNOWN_PARENT' } });
      // The clock the refused request moved ahead is back where it was for the next one.
      const [z] = (plain as PromiseFulfilledResult<LedgerEvent[]>).value;
      expect(z!.hlc.physicalMs).toBeLessThan(ahead.physicalMs);
      // Its first event, sent again, is written rather than taken for one already in the ledger.
      const [x] = (again as PromiseFulfilledResult<LedgerEvent[]>).value;
      expect(await t.service.event('rolled-back', x!.id)).toMatchObject({ index: x!.index, idempotencyKey: 'rolled-back-1' });
      expect(await count('rolled-back')).toBe(4);
    });

    it('one caller\'s bad event does not fail another caller in the same group commit', async () => {
      const before = await count('bad');
      const [good, bad] = await Promise.allSettled([
        t.service.append('bad', [{ type: 'fine', actor: 'a' }]),
        t.service.append('bad', [{ type: 't', actor: 'a', parents: ['ef'.repeat(32)] }]),
      ]);
      expect(good.status).toBe('fulfilled');
      expect(bad.status).toBe('rejected');
      expect(await count('bad')).toBe(before + 1);
    });
  });
});

describe('edge cases found in review', () => {
  it('an unsigned event sent again with its own parents and hlc comes back as it was, after the tip moved on', async () => {
    await t.service.createLedger('resend', {});
    const [a] = await t.service.append('resend', [{ type: 'a', actor: 'x' }]);
    const input = { type: 'dup', actor: 'x', parents: [a!.id], hlc: { physicalMs: Date.now() + 1_000, logical: 0 } };
    const [first] = await t.service.append('resend', [input]);
    await t.service.append('resend', [{ type: 'b', actor: 'x' }]);
    const [again] = await t.service.append('resend', [input]);
    expect(again).toMatchObject({ id: first!.id, index: first!.index });
    expect((await t.service.head('resend')).treeSize).toBe(3);
  });

  it('never stamps an HLC past the largest safe one: at the ceiling the next stamp is refused', () => {
    const now = Date.now();
    expect(nextHlc(now, { physicalMs: now + 1, logical: 0x7fffffff }, undefined)).toEqual({ physicalMs: now + 2, logical: 0 });
    expect(() => nextHlc(now, { physicalMs: Number.MAX_SAFE_INTEGER, logical: 0x7fffffff }, undefined)).toThrow(ChainproofError);
  });

  it('stamps after whichever is latest of the wall clock, the last HLC and the parent', () => {
    const last = { physicalMs: 5_000, logical: 7 };
    // A parent ahead of the last HLC: the stamp follows the parent, not the last HLC.
    expect(nextHlc(1_000, last, { physicalMs: 9_000, logical: 2 })).toEqual({ physicalMs: 9_000, logical: 3 });
    expect(nextHlc(1_000, last, { physicalMs: 5_000, logical: 9 })).toEqual({ physicalMs: 5_000, logical: 10 });
    // A parent behind it changes nothing; a wall clock ahead of both wins with a fresh counter.
    expect(nextHlc(1_000, last, { physicalMs: 4_000, logical: 50 })).toEqual({ physicalMs: 5_000, logical: 8 });
    expect(nextHlc(9_001, last, { physicalMs: 9_000, logical: 2 })).toEqual({ physicalMs: 9_001, logical: 0 });
  });

  it('caps default parents at 64 when many branches are open, so every event stays verifiable', async () => {
    await t.service.createLedger('wide', {});
    const roots = await t.service.append('wide', Array.from({ length: 70 }, (_, i) => ({ type: 'root', actor: `r${i}`, parents: [] })));
    expect((await t.service.head('wide')).tips).toBe(70);
    const [merge] = await t.service.append('wide', [{ type: 'merge', actor: 'm' }]);
    // The newest branches are merged; the oldest six stay open for the next event.
    expect(merge!.parents).toEqual(roots.slice(-64).map((e) => e.id));
    expect(parseCanonical(merge!.canonical).parents).toHaveLength(64);
    expect((await t.service.head('wide')).tips).toBe(7);
  });

  it('moves the clock on instead of overflowing when a client HLC counter is at its ceiling', async () => {
    await t.service.createLedger('hlcmax', {});
    const ahead = { physicalMs: Date.now() + 30_000, logical: 0x7fffffff };
    await t.service.append('hlcmax', [{ type: 't', actor: 'a', hlc: ahead }]);
    const [next] = await t.service.append('hlcmax', [{ type: 't', actor: 'b' }]);
    expect(next!.hlc).toEqual({ physicalMs: ahead.physicalMs + 1, logical: 0 });
  });

  it('a listener that throws after commit never makes an append run twice', async () => {
    await t.service.createLedger('listener', {});
    const stop = t.service.bus.listen('event', 'listener', () => {
      throw new Error('listener bug');
    });
    try {
      const results = await Promise.all([1, 2, 3].map((i) => t.service.append('listener', [{ type: 't', actor: `a${i}` }])));
      expect(results.map((r) => r[0]!.index).sort()).toEqual([0, 1, 2]);
      expect(await count('listener')).toBe(3);
    } finally {
      stop();
    }
  });

  it('never acknowledges a batch whose projection caught a database error: its COMMIT rolled back', async () => {
    await t.service.createLedger('swallowed', {});
    const swallowing = async (tx: EntityManager) => {
      try {
        await tx.query('SELECT 1/0');
      } catch {
        // handled, it thinks; the transaction is aborted all the same
      }
    };
    await expect(t.service.append('swallowed', [{ type: 't', actor: 'a' }], { projection: swallowing })).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await count('swallowed')).toBe(0);
    expect((await t.service.append('swallowed', [{ type: 't', actor: 'a' }]))[0]!.index).toBe(0);
  });

  it('refuses NUL characters and lone surrogates with BAD_USER_INPUT', async () => {
    await t.service.createLedger('unicode', {});
    expect(await codeOf(t.service.append('unicode', [{ type: 't', actor: 'a\u0000b' }]))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.service.append('unicode', [{ type: 't', actor: 'a', payload: { s: '\ud800' } }]))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.service.append('unicode', [{ type: '\udfff', actor: 'a' }]))).toBe('BAD_USER_INPUT');
    const [ok] = await t.service.append('unicode', [{ type: 't', actor: 'a', payload: { s: 'nul \u0000 inside JSON is fine', e: '😀' } }]);
    expect(ok!.payload).toEqual({ s: 'nul \u0000 inside JSON is fine', e: '😀' });
    expect(await count('unicode')).toBe(1);
  });

  it('an unsigned event repeated with the same parents and hlc is the same event, not an error', async () => {
    await t.service.createLedger('repeat', {});
    const [p] = await t.service.append('repeat', [{ type: 'p', actor: 'a' }]);
    const input = { type: 't', actor: 'a', parents: [p!.id], hlc: { physicalMs: p!.hlc.physicalMs + 1, logical: 0 } };
    const [first] = await t.service.append('repeat', [input]);
    const [second] = await t.service.append('repeat', [input]);
    const both = await t.service.append('repeat', [input, input]);
    expect([second!.index, both[0]!.index, both[1]!.index]).toEqual([first!.index, first!.index, first!.index]);
    expect(await count('repeat')).toBe(2);
  });

  it('refuses the server\'s DID as the author of an unsigned client event', async () => {
    await t.service.createLedger('impostor', {});
    const did = t.service.serverKey!.did;
    expect(await codeOf(t.service.append('impostor', [{ type: 't', actor: 'a', author: did }]))).toBe('BAD_USER_INPUT');
  });

  it('refuses payloads nested deeper than MAX_PAYLOAD_DEPTH, idempotency keys PostgreSQL or RFC 8785 cannot hold, and one key given to two different inputs of one call', async () => {
    const before = (await t.service.head('main')).treeSize;
    const nested = (depth: number) => {
      let v: unknown = 1;
      for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
      return v;
    };
    expect(await codeOf(t.service.append('main', [{ type: 'deep', actor: 'a', payload: nested(MAX_PAYLOAD_DEPTH + 1) }]))).toBe('BAD_USER_INPUT');
    expect(await codeOf(t.service.append('main', [{ type: 'one', actor: 'a', idempotencyKey: 'twice' }, { type: 'two', actor: 'a', idempotencyKey: 'twice' }]))).toBe('BAD_USER_INPUT');
    for (const idempotencyKey of ['k\ud800', 'k\u0000']) {
      expect(await codeOf(t.service.append('main', [{ type: 'key', actor: 'a', idempotencyKey }])), JSON.stringify(idempotencyKey)).toBe('BAD_USER_INPUT');
    }
    expect((await t.service.head('main')).treeSize).toBe(before);
    await t.service.append('main', [{ type: 'deep', actor: 'a', payload: nested(MAX_PAYLOAD_DEPTH) }]);
    expect((await t.service.verify('main', true)).status).toBe('VALID');
  });

  it('full verifications of one ledger asked for together share one scan; the next one scans again', async () => {
    await t.service.append('main', [{ type: 'verified', actor: 'a' }]);
    const [a, b] = await Promise.all([t.service.verify('main', true), t.service.verify('main', true)]);
    expect(a).toBe(b);
    expect(a.status).toBe('VALID');
    expect(await t.service.verify('main', true)).not.toBe(a);
    // Quick checks are not shared: each reads the head as it is.
    const [q1, q2] = await Promise.all([t.service.verify('main', false), t.service.verify('main', false)]);
    expect(q1).not.toBe(q2);
  });

  it('refuses a cursor beyond 2^53, and any cursor it did not make itself', async () => {
    const cursor = (text: string, encoding: BufferEncoding = 'base64url') => Buffer.from(text).toString(encoding);
    expect((await t.service.events('main', {}, { after: cursor('event:0') })).items.every((i) => i.node.index > 0)).toBe(true);
    for (const after of [
      cursor('event:99999999999999999999999'), cursor('event:5:evil'), cursor('block:5'), cursor('event:-1'), cursor('event:05'),
      cursor('event:5', 'base64'), `${cursor('event:5')}!`, '',
    ]) {
      expect(await codeOf(t.service.events('main', {}, { after })), JSON.stringify(after)).toBe('BAD_USER_INPUT');
    }
  });

  it('serves concurrent reads correctly while appends commit (the embedded socket multiplexer)', async () => {
    await t.service.createLedger('mixed', {});
    for (let round = 0; round < 10; round++) {
      const appended = await Promise.all(
        Array.from({ length: 5 }, (_, i) => t.service.append('mixed', [{ type: 't', actor: `r${round}-${i}` }])),
      );
      const reads = await Promise.all([
        ...appended.map(([e]) => t.service.event('mixed', e!.id)),
        ...appended.map(([e]) => t.service.inclusionProof('mixed', { index: e!.index })),
        t.service.stats('mixed'),
        t.service.append('mixed', [{ type: 'during-reads', actor: 'x' }]),
      ]);
      for (const [i, [e]] of appended.entries()) expect((reads[i] as { id: string } | null)?.id).toBe(e!.id);
    }
    expect(await count('mixed')).toBe(60);
  });
});

describe('proofs from the stored tree', () => {
  for (const alg of ['sha256', 'blake3'] as const) {
    it(`inclusion and consistency proofs verify for every index and size (${alg})`, async () => {
      const name = `proofs-${alg}`;
      await t.service.createLedger(name, { hashAlg: alg });
      for (let i = 0; i < 37; i++) await t.service.append(name, [{ type: 't', actor: `a${i}` }]);
      const heads: string[] = [];
      for (let size = 1; size <= 37; size++) heads.push((await t.service.consistencyProof(name, 0, size)).toRoot);
      for (const size of [1, 2, 3, 8, 13, 37]) {
        for (let index = 0; index < size; index++) {
          const p = await t.service.inclusionProof(name, { index }, size);
          const ok = verifyInclusion(alg, index, size, Buffer.from(p.leafHash, 'hex'), p.hashes.map((h) => Buffer.from(h, 'hex')), Buffer.from(p.rootHash, 'hex'));
          expect(ok, `index ${index} size ${size}`).toBe(true);
          expect(p.rootHash).toBe(heads[size - 1]);
        }
      }
      for (const [m, n] of [[0, 1], [0, 37], [1, 37], [5, 8], [8, 37], [13, 21], [36, 37]] as const) {
        const p = await t.service.consistencyProof(name, m, n);
        expect(verifyConsistency(alg, m, n, Buffer.from(p.fromRoot, 'hex'), Buffer.from(p.toRoot, 'hex'), p.hashes.map((h) => Buffer.from(h, 'hex')))).toBe(true);
      }
      const byId = await t.service.inclusionProof(name, { eventId: (await t.service.eventAt(name, 5))!.id });
      expect(byId.leafIndex).toBe(5);
      expect(byId.treeSize).toBe(37);
    });
  }

  it('proves against a checkpoint newer than the head read beside it', async () => {
    await t.service.createLedger('racing', {});
    await t.service.append('racing', Array.from({ length: 5 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const cp = await t.service.createCheckpoint('racing');
    expect(cp.treeSize).toBe(5);
    // The head and the checkpoint are read together: the head may be one taken before the checkpoint's block.
    const stale = { ...(await t.service.head('racing')), treeSize: 2 };
    const head = vi.spyOn(t.service, 'head').mockResolvedValueOnce(stale);
    try {
      const p = await t.service.inclusionProof('racing', { index: 4 });
      expect(p.checkpoint?.treeSize).toBe(5);
      const ok = verifyInclusion('sha256', 4, 5, Buffer.from(p.leafHash, 'hex'), p.hashes.map((h) => Buffer.from(h, 'hex')), cp.rootHash);
      expect(ok).toBe(true);
      expect(head).toHaveBeenCalledTimes(1);
    } finally {
      head.mockRestore();
    }
  });

  it('refuses proofs beyond the tree', async () => {
    await t.service.createLedger('range', {});
    await t.service.append('range', [{ type: 't', actor: 'a' }]);
    expect(await codeOf(t.service.inclusionProof('range', { index: 1 }, 1))).toBe('PROOF_OUT_OF_RANGE');
    expect(await codeOf(t.service.inclusionProof('range', { index: 0 }, 2))).toBe('PROOF_OUT_OF_RANGE');
    expect(await codeOf(t.service.consistencyProof('range', 0, 5))).toBe('PROOF_OUT_OF_RANGE');
    expect(await codeOf(t.service.consistencyProof('range', 2, 1))).toBe('PROOF_OUT_OF_RANGE');
  });
});
