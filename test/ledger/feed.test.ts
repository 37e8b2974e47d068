import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LedgerFeed } from '../../src/ledger/feed.js';
import pino from 'pino';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { openTestLedger, testConfig, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

describe('the live feed', () => {
  it('delivers an event committed after a subscriber joined, while a catch-up for no listeners was reading the head', async () => {
    await t.service.append('main', [{ type: 'before', actor: 'a' }]);
    const ledger = await t.service.ledger('main');
    const feed = (t.service as unknown as { feed: LedgerFeed }).feed;
    const head = (feed as unknown as { head: (topic: string, l: unknown) => Promise<number> }).head.bind(feed);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    // The head read is slow (a round trip behind the appends).
    const spy = vi.spyOn(feed as unknown as { head: typeof head }, 'head').mockImplementationOnce(async (topic, l) => {
      await gate;
      return head(topic, l);
    });
    // Another process committed something while nobody listens here: the catch-up moves the cursor to the head.
    feed.notify(ledger, 'event');
    const sub = await t.service.subscribe('event', 'main');
    const [owed] = await t.service.append('main', [{ type: 'after-subscribing', actor: 'b' }]);
    open();
    const first = await sub.next();
    expect(first.value.index).toBe(owed!.index);
    expect(spy).toHaveBeenCalled();
    await sub.return!();
  });

  it('retries a catch-up whose read failed, though no further commit comes to retry it', async () => {
    // A second process on the same database: its commits reach this one's feed only as notifications.
    const other = new LedgerService(t.db.dataSource, testConfig(), undefined, pino({ level: 'silent' }), { produceBlocks: false });
    await other.start();
    const ledger = await t.service.ledger('main');
    const feed = (t.service as unknown as { feed: LedgerFeed }).feed;
    const sub = await t.service.subscribe('event', 'main');
    try {
      const [e] = await other.append('main', [{ type: 'elsewhere', actor: 'b' }]);
      const read = vi.spyOn(feed as unknown as { read: () => Promise<unknown> }, 'read').mockRejectedValueOnce(new Error('pool timeout'));
      feed.notify(ledger, 'event'); // what the NOTIFY of that commit does
      const first = await sub.next();
      expect(first.value.index).toBe(e!.index);
      expect(read).toHaveBeenCalledTimes(2);
    } finally {
      await sub.return!();
      await other.stop();
    }
  });

  it('starts a ledger\'s cursors once, however many callers ask at the same time', async () => {
    // A ledger another process created: this one tracks it on first use, from several requests at once.
    const other = new LedgerService(t.db.dataSource, testConfig(), undefined, pino({ level: 'silent' }), { produceBlocks: false });
    const created = await other.createLedger('tracked-once', {});
    const feed = (t.service as unknown as { feed: LedgerFeed }).feed;
    const head = vi.spyOn(feed as unknown as { head: (topic: string, l: { name: string }) => Promise<number> }, 'head');
    await Promise.all([feed.track(created), feed.track(created), feed.track(created)]);
    // One read per topic, not per caller.
    expect(head.mock.calls.filter(([, l]) => l.name === 'tracked-once').map(([topic]) => topic).sort()).toEqual(['block', 'checkpoint', 'event']);
    head.mockRestore();
  });

  it('stops after the catch-ups under way, which fail quietly as the pool closes, and retries none', async () => {
    const service = new LedgerService(t.db.dataSource, testConfig(), undefined, pino({ level: 'silent' }), { produceBlocks: false });
    await service.start();
    const feed = (service as unknown as { feed: LedgerFeed }).feed;
    const warned: unknown[] = [];
    (feed as unknown as { log: { warn: (...a: unknown[]) => void } }).log = { warn: (...a) => void warned.push(a) };
    let fail!: (e: Error) => void;
    // A catch-up reading when the service stops: its read fails once the pool is closed.
    vi.spyOn(feed as unknown as { catchUp: () => Promise<void> }, 'catchUp').mockImplementationOnce(() => new Promise((_, reject) => (fail = reject)));
    feed.notify(await service.ledger('main'), 'event');
    let stopped = false;
    const stopping = service.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false); // waits for the read under way
    fail(new Error('Cannot use a pool after calling end on the pool'));
    await stopping;
    expect(warned).toEqual([]);
    expect((feed as unknown as { retries: Set<unknown> }).retries.size).toBe(0);
  });
});
