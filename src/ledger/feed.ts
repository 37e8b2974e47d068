import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { positionOf, type BusMessages, type BusTopic, type LedgerBus } from './bus.js';
import { BlockRow, CheckpointRow, type LedgerRow } from './entities/index.js';
import type { LedgerEvent } from './events/event.js';
import { EVENT_COLUMNS, eventFromRow, type RawEventRow } from './sequencer.js';

const PAGE = 500;
const TOPICS = ['event', 'block', 'checkpoint'] as const;

/**
 * Feeds live subscribers from the database, in ledger order. Whoever commits (this process,
 * or another through PostgreSQL LISTEN/NOTIFY) only says "ledger X has new events/blocks/
 * checkpoints"; the feed then reads everything past its cursor and publishes it on the bus.
 * A lost or coalesced notification therefore delays delivery but never skips an item.
 */
export class LedgerFeed {
  /** Next position to publish per `${topic}:${ledger}`: event index, block height, checkpoint id. */
  private readonly next = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly tracked = new Map<string, Promise<void>>();
  /** The ledgers tracked, by name: what a catch-up after a gap in notifications goes over. */
  private readonly ledgers = new Map<string, LedgerRow>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: LedgerBus,
    private readonly log: Logger,
  ) {}

  /**
   * Starts a ledger's cursors at its current head: subscribers see what commits from now on.
   * Once per ledger: a second caller's older head read, landing after the first had moved the
   * cursor on, would set it back (or a newer one forward, past events not yet published).
   */
  track(ledger: LedgerRow): Promise<void> {
    let tracked = this.tracked.get(ledger.name);
    if (!tracked) {
      tracked = (async () => {
        for (const topic of TOPICS) {
          const key = `${topic}:${ledger.name}`;
          if (!this.next.has(key)) this.next.set(key, await this.head(topic, ledger));
        }
      })();
      this.tracked.set(ledger.name, tracked);
      this.ledgers.set(ledger.name, ledger);
      tracked.catch(() => this.tracked.delete(ledger.name)); // the next caller reads again
    }
    return tracked;
  }

  /**
   * Every tracked ledger catches up, for after a gap in notifications (the LISTEN connection
   * came back): a ledger this process does not track has no cursor to move.
   */
  catchUpAll(): void {
    for (const ledger of this.ledgers.values()) for (const topic of TOPICS) this.notify(ledger, topic);
  }

  /** No more catch-ups: the service is stopping. Resolves once those under way are done (before the pool closes under them). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Something new may be committed for `ledger`; publish it (coalesces bursts). */
  notify(ledger: LedgerRow, topic: BusTopic): void {
    const key = `${topic}:${ledger.name}`;
    if (this.stopped) return;
    if (!this.next.has(key)) {
      // The ledger's cursors are still being read, maybe from before this commit: look once they are set.
      void this.tracked.get(ledger.name)?.then(() => this.notify(ledger, topic), () => {});
      return;
    }
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = this.catchUp(ledger, topic, key)
      .catch((err) => {
        // Failed because the service is stopping (its pool closing): nothing to say or retry.
        if (this.stopped) return;
        // Retried on a timer: a quiet ledger sends no next notification to retry it.
        this.log.warn({ err, ledger: ledger.name, topic }, 'live feed catch-up failed; retrying in 1 s');
        const timer = setTimeout(() => {
          this.retries.delete(timer);
          this.notify(ledger, topic);
        }, 1000);
        timer.unref();
        this.retries.add(timer);
      })
      .finally(() => {
        this.running.delete(key);
        if (this.again.delete(key)) this.notify(ledger, topic);
      });
    this.running.set(key, run);
  }

  /**
   * Rows of `topic` this process has just committed, in order. When they continue the cursor
   * and no read is under way they are published from memory — no read-back per commit, and no
   * wait for a pooled connection behind the appends; otherwise they are read like any
   * notification.
   */
  committed<T extends BusTopic>(ledger: LedgerRow, topic: T, messages: BusMessages[T][]): void {
    const key = `${topic}:${ledger.name}`;
    const next = this.next.get(key);
    if (next === undefined) return this.notify(ledger, topic);
    const continues = messages.every((m, i) => positionOf(topic, m) === next + i);
    if (!continues || this.running.has(key)) return this.notify(ledger, topic);
    if (this.bus.hasListeners(topic, ledger.name)) {
      for (const m of messages) this.bus.publish(topic, ledger.name, topic === 'event' ? (asStored(m as LedgerEvent) as BusMessages[T]) : m);
    }
    this.next.set(key, next + messages.length);
  }

  private async catchUp(ledger: LedgerRow, topic: BusTopic, key: string): Promise<void> {
    if (!this.bus.hasListeners(topic, ledger.name)) {
      // Nobody is listening: skip reading, but keep the cursor at the head for later subscribers.
      const head = await this.head(topic, ledger);
      // Unless one joined during that read: it is owed what committed since, which the head already counts.
      if (!this.bus.hasListeners(topic, ledger.name)) return void this.next.set(key, head);
    }
    for (;;) {
      const from = this.next.get(key)!;
      const items = await this.read(topic, ledger, from);
      for (const item of items) {
        this.bus.publish(topic, ledger.name, item.message as never);
        this.next.set(key, item.position + 1);
      }
      if (items.length < PAGE) return;
    }
  }

  private async head(topic: BusTopic, ledger: LedgerRow): Promise<number> {
    const sql = {
      event: `SELECT tree_size AS n FROM ledger_heads WHERE ledger_id = $1`,
      block: `SELECT coalesce(max(height) + 1, 0) AS n FROM blocks WHERE ledger_id = $1`,
      checkpoint: `SELECT coalesce(max(id) + 1, 0) AS n FROM checkpoints WHERE ledger_id = $1`,
    }[topic];
    const [row] = await this.dataSource.query(sql, [ledger.id]);
    return Number(row?.n ?? 0);
  }

  private async read(topic: BusTopic, ledger: LedgerRow, from: number): Promise<Array<{ position: number; message: BusMessages[BusTopic] }>> {
    if (topic === 'event') {
      const rows: RawEventRow[] = await this.dataSource.query(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idx >= $2 ORDER BY idx LIMIT ${PAGE}`,
        [ledger.id, from],
      );
      return rows.map((r) => ({ position: Number(r.idx), message: eventFromRow(ledger.name, r) }));
    }
    if (topic === 'block') {
      const rows = await this.dataSource.getRepository(BlockRow).createQueryBuilder('b')
        .where('b.ledger_id = :id AND b.height >= :from', { id: ledger.id, from })
        .orderBy('b.height', 'ASC').limit(PAGE).getMany();
      return rows.map((b) => ({ position: b.height, message: b }));
    }
    const rows = await this.dataSource.getRepository(CheckpointRow).createQueryBuilder('c')
      .where('c.ledger_id = :id AND c.id >= :from', { id: ledger.id, from })
      .orderBy('c.id', 'ASC').limit(PAGE).getMany();
    return rows.map((c) => ({ position: c.id, message: c }));
  }
}

/**
 * A committed event as a read from the database would give it: the payload as the canonical
 * envelope has it (canonicalised numbers and key order), not as the client sent it.
 */
function asStored(e: LedgerEvent): LedgerEvent {
  const envelope = JSON.parse(e.canonical.toString('utf8')) as { payload?: unknown };
  return { ...e, payload: envelope.payload ?? null };
}
