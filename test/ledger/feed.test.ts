import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LedgerFeed } from '../../src/ledger/feed.js';
import pino from 'pino';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import type { LedgerEvent } from '../../src/ledger/events/event.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { openTestLedger, testConfig, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

/** The subscription's next message, or a failure naming what never came (instead of the test's timeout). */
async function nextOf<T>(sub: AsyncIterator<T>, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} never came`)), 3000)));
  try {
    return (await Promise.race([sub.next(), late])).value as T;
  } finally {
    clearTimeout(timer);
  }
}

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

/**
 * A process does not hear its own NOTIFY: where a write's reply is lost, what follows the ledger
 * here must still look, or a quiet ledger's subscribers would wait for the next commit.
 */
describe('writes whose reply was lost', () => {
  /** The next statement matching `pattern` runs, and then fails as a dropped connection would. */
  function loseReplyOnce(pattern: RegExp): void {
    const ds = t.db.dataSource;
    const query = ds.query.bind(ds);
    const spy = vi.spyOn(ds, 'query').mockImplementation(async (sql: string, params?: Parameters<typeof query>[1]) => {
      const rows = await query(sql, params);
      if (!pattern.test(sql)) return rows;
      spy.mockRestore();
      throw new Error('Connection terminated unexpectedly');
    });
  }

  it('an append whose COMMIT reply was lost reaches subscribers and wakes commit watchers', async () => {
    const ds = t.db.dataSource;
    const createQueryRunner = ds.createQueryRunner.bind(ds);
    const runners = vi.spyOn(ds, 'createQueryRunner').mockImplementation((mode) => {
      const runner = createQueryRunner(mode);
      const commit = runner.commitTransaction.bind(runner);
      runner.commitTransaction = async () => {
        await commit();
        throw new Error('Connection terminated unexpectedly');
      };
      return runner;
    });
    const sub = await t.service.subscribe('event', 'main');
    let woken = 0;
    const stop = t.service.onCommit('main', () => void woken++);
    try {
      await expect(t.service.append('main', [{ type: 'reply-lost', actor: 'a' }])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      runners.mockRestore();
      expect(woken).toBe(1);
      const e = await nextOf(sub, 'the committed event');
      expect((e as { type: string }).type).toBe('reply-lost');
    } finally {
      runners.mockRestore();
      stop();
      await sub.return!();
    }
  });

  // Sealing looks again after a failed block insert and finds the block there; a checkpoint's failure reaches its caller.
  it.each([
    { topic: 'block', insert: /INSERT INTO blocks/, answer: 'created', expected: { height: 0 } },
    { topic: 'checkpoint', insert: /INSERT INTO checkpoints/, answer: /Connection terminated/, expected: { treeSize: 1 } },
  ] as const)('a $topic whose insert reply was lost reaches $topic subscribers', async ({ topic, insert, answer, expected }) => {
    const name = `lost-${topic}`;
    await t.service.createLedger(name, {});
    await t.service.append(name, [{ type: 't', actor: 'a' }]);
    const sub = await t.service.subscribe(topic, name);
    try {
      loseReplyOnce(insert);
      expect(await t.service.createCheckpoint(name).then(() => 'created', (e: Error) => e.message)).toMatch(answer);
      expect(await nextOf(sub, `the ${topic}`)).toMatchObject(expected);
    } finally {
      await sub.return!();
    }
  });

  it("a commit made while a subscriber's first look at a new ledger's head is under way reaches it", async () => {
    const other = new LedgerService(t.db.dataSource, testConfig(), undefined, pino({ level: 'silent' }), { produceBlocks: false });
    const created = await other.createLedger('tracked-late', {});
    const feed = (t.service as unknown as { feed: LedgerFeed }).feed;
    const head = (feed as unknown as { head: (topic: string, l: unknown) => Promise<number> }).head.bind(feed);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let read!: () => void;
    const headRead = new Promise<void>((r) => (read = r));
    // The event head is read before the append commits; its reply comes after.
    const spy = vi.spyOn(feed as unknown as { head: typeof head }, 'head').mockImplementationOnce(async (topic, l) => {
      const n = await head(topic, l);
      read();
      await gate;
      return n;
    });
    const subscribing = t.service.subscribe('event', created.name);
    await headRead;
    const [e] = await t.service.append(created.name, [{ type: 'during-the-look', actor: 'a' }]);
    open();
    const sub = await subscribing;
    try {
      const first = await nextOf(sub, 'the event committed during the look');
      expect((first as { index: number }).index).toBe(e!.index);
      expect(spy).toHaveBeenCalled();
    } finally {
      await sub.return!();
    }
  });
});

describe("this process's own commits", () => {
  it('reach subscribers with the payload as stored, its keys in canonical order, as a read would give it', async () => {
    const sub = await t.service.subscribe('event', 'main');
    try {
      await t.service.append('main', [{ type: 'ordered', actor: 'a', payload: { b: 1, a: { d: 2, c: 3 } } }]);
      const e = (await nextOf(sub, 'the event')) as LedgerEvent;
      expect(JSON.stringify(e.payload)).toBe('{"a":{"c":3,"d":2},"b":1}');
      expect(JSON.stringify((await t.service.event('main', e.id))!.payload)).toBe(JSON.stringify(e.payload));
    } finally {
      await sub.return!();
    }
  });
});

/**
 * Another process on the same database, with the same key: its commits reach this one's feed
 * only when feed.notify is called, as the NOTIFY of each commit would.
 */
describe("another process's commits", () => {
  let other: LedgerService;
  beforeAll(async () => {
    other = new LedgerService(t.db.dataSource, testConfig(), loadServerKey(testConfig(), false)?.key, pino({ level: 'silent' }), { produceBlocks: false });
    await other.start();
  });
  afterAll(async () => other?.stop());
  const feed = () => (t.service as unknown as { feed: LedgerFeed }).feed;

  it('are all delivered when one notification stands for more than a page of them', async () => {
    const ledger = await t.service.createLedger('many', {});
    const sub = await t.service.subscribe('event', ledger.name);
    try {
      // The feed reads 500 at a time: the 501st is on a second page, and no second notification comes.
      await other.append(ledger.name, Array.from({ length: 501 }, (_, i) => ({ type: 't', actor: `a${i}` })));
      feed().notify(ledger, 'event');
      for (let i = 0; i < 501; i++) expect(((await nextOf(sub, `event ${i}`)) as LedgerEvent).index).toBe(i);
    } finally {
      await sub.return!();
    }
  });

  it("reach subscribers before this process's own next commit, though their notification has not come yet", async () => {
    const ledger = await t.service.createLedger('interleaved', {});
    const sub = await t.service.subscribe('event', ledger.name);
    try {
      const [theirs] = await other.append(ledger.name, [{ type: 'theirs', actor: 'b' }]);
      const [ours] = await t.service.append(ledger.name, [{ type: 'ours', actor: 'a' }]);
      // Ours does not continue the feed's cursor, so it is read from the database with theirs, in order.
      expect(((await nextOf(sub, 'their event')) as LedgerEvent).id).toBe(theirs!.id);
      expect(((await nextOf(sub, 'our event')) as LedgerEvent).id).toBe(ours!.id);
    } finally {
      await sub.return!();
    }
  });

  it('made while a catch-up reads are delivered by a read after it, not dropped', async () => {
    const ledger = await t.service.createLedger('during-a-read', {});
    const sub = await t.service.subscribe('event', ledger.name);
    const read = (feed() as unknown as { read: (...a: unknown[]) => Promise<unknown[]> }).read.bind(feed());
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let readDone!: () => void;
    const done = new Promise<void>((r) => (readDone = r));
    // The first read has its rows, but its reply is slow to come back.
    vi.spyOn(feed() as unknown as { read: typeof read }, 'read').mockImplementationOnce(async (...a) => {
      const rows = await read(...a);
      readDone();
      await gate;
      return rows;
    });
    try {
      const [first] = await other.append(ledger.name, [{ type: 't', actor: 'a' }]);
      feed().notify(ledger, 'event');
      await done;
      // Its notification comes while that read is under way: it must not be dropped.
      const [second] = await other.append(ledger.name, [{ type: 't', actor: 'b' }]);
      feed().notify(ledger, 'event');
      open();
      expect(((await nextOf(sub, 'the first event')) as LedgerEvent).id).toBe(first!.id);
      expect(((await nextOf(sub, 'the event committed during the read')) as LedgerEvent).id).toBe(second!.id);
    } finally {
      await sub.return!();
    }
  });

  it.each(['block', 'checkpoint'] as const)('made before a %s subscriber came are not sent to it again', async (topic) => {
    // Created elsewhere, so this process first looks at the ledger's heads when the subscriber comes.
    const ledger = await other.createLedger(`sealed-before-${topic}`, {});
    await other.append(ledger.name, [{ type: 't', actor: 'a' }]);
    await other.createCheckpoint(ledger.name);
    const sub = await t.service.subscribe(topic, ledger.name);
    try {
      await other.append(ledger.name, [{ type: 't', actor: 'b' }]);
      const second = await other.createCheckpoint(ledger.name);
      feed().notify(ledger, topic);
      const first = (await nextOf(sub, `the second ${topic}`)) as { id?: number; height?: number };
      expect(topic === 'block' ? first.height : first.id).toBe(topic === 'block' ? second.blockHeight : second.id);
    } finally {
      await sub.return!();
    }
  });
});
