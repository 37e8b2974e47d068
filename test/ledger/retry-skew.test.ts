import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppendInput } from '../../src/ledger/events/event.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { openTestLedger, testConfig, type TestLedger } from '../support/ledger.js';
import { newAuthor } from '../support/signing.js';

/**
 * A retry carries the hlc its event was first stamped with. Once the clock has moved past the
 * allowed skew, the retry must still get that event back rather than HLC_OUT_OF_SKEW; a new
 * event with such an hlc is still refused.
 */
let t: TestLedger;
/** The same database, with no skew allowed: every hlc stamped earlier is out of skew here. */
let strict: LedgerService;

beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  strict = new LedgerService(t.db.dataSource, testConfig({ CHAINPROOF_HLC_MAX_SKEW_MS: '0' }), t.service.serverKey, pino({ level: 'silent' }), { produceBlocks: false });
  await strict.start([]);
});
afterAll(async () => {
  await strict?.stop();
  await t?.close();
});

describe('retries of events stamped longer ago than the allowed skew', () => {
  it('return the first event for a signed event, a keyed one and one with its own parents and hlc; a new one is refused', async () => {
    await t.service.createLedger('skewed', {});
    const [genesis] = await t.service.append('skewed', [{ type: 'g', actor: 'a' }]);
    const hlc = { physicalMs: genesis!.hlc.physicalMs + 1, logical: 0 };
    const author = newAuthor();
    const inputs: AppendInput[] = [
      author.sign('test.chainproof/skewed', { type: 'signed', actor: 'alice' }, [genesis!.id], hlc),
      { type: 'keyed', actor: 'a', hlc: { ...hlc, logical: 1 }, idempotencyKey: 'keyed-once' },
      { type: 'fixed', actor: 'a', parents: [genesis!.id], hlc: { ...hlc, logical: 2 } },
    ];
    const first = [];
    for (const input of inputs) first.push((await t.service.append('skewed', [input]))[0]!);
    await new Promise((r) => setTimeout(r, 20));
    const size = (await t.service.head('skewed')).treeSize;

    for (const [i, input] of inputs.entries()) {
      const [again] = await strict.append('skewed', [input]);
      expect(again!.id, input.type).toBe(first[i]!.id);
    }
    const fresh: AppendInput[] = [
      author.sign('test.chainproof/skewed', { type: 'signed', actor: 'bob' }, [genesis!.id], hlc),
      { type: 'keyed', actor: 'a', hlc: { ...hlc, logical: 5 }, idempotencyKey: 'keyed-new' },
      { type: 'fixed', actor: 'b', parents: [genesis!.id], hlc: { ...hlc, logical: 6 } },
      { type: 'plain', actor: 'a', hlc: { ...hlc, logical: 7 } },
    ];
    for (const input of fresh) await expect(strict.append('skewed', [input]), input.type).rejects.toMatchObject({ code: 'HLC_OUT_OF_SKEW' });
    expect((await t.service.head('skewed')).treeSize).toBe(size);
  });
});
