import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ChainproofError } from '../errors.js';
import { BlockProducer } from './block-producer.js';
import { Miner } from './blocks/index.js';
import { LedgerBus, positionOf, type BusMessages, type BusTopic, type PushSubscription } from './bus.js';
import { LedgerFeed } from './feed.js';
import { LedgerAnalytics } from './analytics.js';
import { NO_METRICS, type LedgerMetrics } from './metrics.js';
import { Announcer, listen, type Listener } from '../db/pg-listener.js';
import { prepared } from '../db/driver-pool.js';
import { checkCheckpointLabels, Checkpointer, type StateRootProvider } from './checkpointer.js';
import { BlockRow, CheckpointRow, type LedgerRow } from './entities/index.js';
import { isHexId, isStorableText } from './events/envelope.js';
import { rfc8785 } from './events/rfc8785.js';
import { splitIds, type AppendInput, type LedgerEvent } from './events/event.js';
import { prepareInput, prepareReplicated, type PreparedInput } from './events/prepare.js';
import { mapInSlices } from './in-slices.js';
import { checkChange, LedgerRegistry, updateParams, type LedgerParams, type MutableLedgerParams } from './ledgers.js';
import { consistencyProof, inclusionProof, rangeProof, rootAt, treeHasher } from './merkle/index.js';
import { decodeCursor, encodeCursor, pageWindow, toPage, type Page, type PageArgs } from './pagination.js';
import { EVENT_COLUMNS, LedgerSequencer, eventFromRow, type Projection, type RawEventRow } from './sequencer.js';
import type { ServerKey } from './server-key.js';
import { batchingReader, storedTree } from './tree-store.js';
import { verifyLedger, type VerificationReport } from './verify/index.js';

const CURSOR_KIND = { event: 'event', block: 'block', checkpoint: 'checkpoint' } as const;

export interface EventFilter {
  types?: string[];
  actor?: string;
  author?: string;
  resource?: string;
  subsystem?: string;
  result?: string;
  correlationId?: string;
  /** HLC physical time bounds, ms since the epoch, inclusive. */
  fromMs?: number;
  toMs?: number;
}

/** Filter strings (attacker-controlled) that no stored text could equal, refused rather than sent to PostgreSQL, which would fail on a NUL. */
function checkFilterText(filter: EventFilter): void {
  const texts = [...(filter.types ?? []), filter.actor, filter.author, filter.resource, filter.subsystem, filter.result, filter.correlationId];
  if (texts.some((t) => t !== undefined && !isStorableText(t))) {
    throw new ChainproofError('BAD_USER_INPUT', 'event filter strings must be text without NUL characters or lone surrogates');
  }
}

export interface InclusionProofResult {
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  hashes: string[];
  rootHash: string;
  checkpoint: CheckpointRow | null;
}

export interface ConsistencyProofResult {
  fromSize: number;
  toSize: number;
  hashes: string[];
  fromRoot: string;
  toRoot: string;
}

/** A copy of an event from another node: its exact bytes and, if it was signed, the signature. */
export interface ReplicatedEvent {
  canonical: Buffer;
  signature: Buffer | null;
}

export interface LeafRangeResult {
  start: number;
  treeSize: number;
  leaves: ReplicatedEvent[];
  /** The range proof's hashes (rootFromRange rebuilds the root from them and the leaves). */
  proof: Buffer[];
}

/** Leaves one pull may ask for, and events one replicated append may carry. */
/** Messages a subscription replaying from a cursor reads from the database at a time. */
const REPLAY_PAGE = 500;

/** The metrics' label for appends refused for naming no ledger this process knows. */
export const UNKNOWN_LEDGER_LABEL = '(unknown)';

export const MAX_LEAF_RANGE = 2000;
const MAX_REPLICATED_BATCH = 10_000;

export interface LedgerHead {
  treeSize: number;
  rootHash: string;
  tips: number;
}

export interface AppendOptions {
  asServer?: boolean;
  /**
   * Written by the server's own code, unsigned (key and DID administration): may use reserved
   * subsystems, ledgers and idempotency keys, as `asServer` may. Never set for a client's input.
   */
  internal?: boolean;
  projection?: Projection;
}

/** Whether an append comes from the server's own code, which may write what clients may not. */
const privileged = (options: AppendOptions): boolean => options.asServer === true || options.internal === true;

/** What to append, or a function that builds it in the append's turn (see LedgerService.append). */
export type AppendInputs = AppendInput[] | (() => Promise<AppendInput[]>);

/** The ledger's last HLC time, as a scalar subquery on the ledger id `$1`, for reads that want the clock in their own round trip (see clockMs). */
export const LEDGER_CLOCK_SQL = `(SELECT last_hlc_ms FROM ledger_heads WHERE ledger_id = $1)`;
/** The ledger's clock (see clockMs) from what LEDGER_CLOCK_SQL read. */
export const ledgerClockMs = (lastHlcMs: string | number): number => Math.max(Date.now(), Number(lastHlcMs));

/**
 * The ledger's front door: everything resolvers, the CLI and other domains do with a ledger
 * goes through here. Governance and provenance append through `append` with their own
 * projection writers; nothing here knows what those are.
 */
export class LedgerService {
  readonly bus: LedgerBus;
  readonly registry: LedgerRegistry;
  private readonly analytics: LedgerAnalytics;
  private readonly sequencers = new Map<string, LedgerSequencer>();
  /** Per ledger name, the turn of the append called last, while it is being checked (see appendUnmeasured). */
  private readonly admitting = new Map<string, Promise<void>>();
  private readonly producers = new Map<string, BlockProducer>();
  private readonly checkpointer: Checkpointer;
  private started = false;
  private readonly feed: LedgerFeed;
  private readonly metrics: LedgerMetrics;
  private listener: Listener | undefined;
  /** On PostgreSQL, how this service's commits are announced to other processes (and told from theirs). */
  private readonly announcer: Announcer | undefined;
  private readonly reservedSubsystems = new Set<string>();
  private readonly reservedLedgers = new Set<string>();
  private readonly reservedKeyPrefixes: string[] = [];
  /** A checkpoint being signed for a peer's pull, per ledger, so concurrent pulls share it. */
  private readonly signing = new Map<string, Promise<CheckpointRow>>();
  private readonly fullVerifications = new Map<string, Promise<VerificationReport>>();
  /** Per ledger name, what onCommit registered. */
  private readonly commitWatchers = new Map<string, Set<() => void>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: Config,
    readonly serverKey: ServerKey | undefined,
    private readonly log: Logger,
    private readonly options: {
      produceBlocks?: boolean;
      /** PostgreSQL URL to LISTEN on, so subscribers here see what other processes commit. */
      listenUrl?: string;
      metrics?: LedgerMetrics;
    } = {},
  ) {
    this.registry = new LedgerRegistry(dataSource, config.originPrefix, config.ledgerDefaults);
    this.bus = new LedgerBus(config.subscriberQueue);
    this.feed = new LedgerFeed(dataSource, this.bus, log);
    this.analytics = new LedgerAnalytics(dataSource);
    this.metrics = options.metrics ?? NO_METRICS;
    this.announcer = options.listenUrl ? new Announcer() : undefined;
    this.checkpointer = new Checkpointer(dataSource, serverKey, (l, t) => this.notify(l, t), this.announcer);
  }

  /**
   * New rows of `topic` are committed in `ledger` (`committed`, if the caller has them), or may
   * be (a reply was lost): feed this process's subscribers. Other processes were told by the
   * statement that wrote them.
   */
  private notify<T extends BusTopic>(ledger: LedgerRow, topic: T, committed?: BusMessages[T][]): void {
    if (committed) this.feed.committed(ledger, topic, committed);
    else this.feed.notify(ledger, topic);
  }

  /** Another process committed, or changed parameters: this one's own announcements were acted on as it made them. */
  private async onNotification(payload: string): Promise<void> {
    const notice = this.announcer?.heard(payload);
    if (!notice) return;
    const topic = notice.topic as BusTopic;
    const name = notice.ledger;
    if ((topic as string) === 'params' && name) return this.reloadParameters(name);
    if (!['event', 'block', 'checkpoint'].includes(topic) || !name) return;
    const ledger = await this.registry.get(name).catch(() => undefined);
    if (!ledger) return;
    await this.feed.track(ledger);
    this.feed.notify(ledger, topic);
    if (topic === 'event') this.wakeCommitWatchers(name);
  }

  /**
   * Calls `watcher` whenever events of `ledgerName` may have been committed, by this process or
   * (on PostgreSQL) another: a signal to read from the database, carrying no events. A bus
   * listener would get every committed event, which the live feed parses (or, for another
   * process's commits, reads back) for it; a watcher costs a commit nothing of the kind.
   * Returns the function that stops it.
   *
   * @example const stop = ledger.onCommit('main', () => consumer.wake());
   */
  onCommit(ledgerName: string, watcher: () => void): () => void {
    let watchers = this.commitWatchers.get(ledgerName);
    if (!watchers) this.commitWatchers.set(ledgerName, (watchers = new Set()));
    watchers.add(watcher);
    return () => {
      watchers!.delete(watcher);
      if (watchers!.size === 0) this.commitWatchers.delete(ledgerName);
    };
  }

  private wakeCommitWatchers(ledgerName: string): void {
    for (const watcher of this.commitWatchers.get(ledgerName) ?? []) {
      try {
        watcher();
      } catch (err) {
        // A watcher runs after the commit; its failure is its own.
        this.log.error({ err, ledger: ledgerName }, 'commit watcher failed');
      }
    }
  }

  /** `ensure`: ledgers that must exist, created on first start (`main`, plus e.g. `system`). */
  async start(ensure: string[] = ['main']): Promise<void> {
    for (const name of ensure) await this.registry.ensure(name);
    this.started = true;
    for (const l of await this.registry.list()) {
      await this.feed.track(l);
      if (this.options.produceBlocks !== false) this.producerFor(l);
    }
    if (this.options.listenUrl) {
      this.listener = await listen(
        this.options.listenUrl,
        (payload) => void this.onNotification(payload).catch((err) => this.log.warn({ err }, 'bad notification')),
        () => this.catchUpAll(),
        this.log,
      );
    }
  }

  /**
   * After a LISTEN (re)connect anything may have been missed: every followed ledger catches up,
   * every commit watcher looks again. (A missed parameter change needs nothing here: producers
   * read the parameters with the head.)
   */
  private catchUpAll(): void {
    this.feed.catchUpAll();
    for (const name of this.commitWatchers.keys()) this.wakeCommitWatchers(name);
  }

  /** Drains in-flight appends, then stops mining. Acknowledged events are already committed. */
  async stop(): Promise<void> {
    this.started = false;
    await this.listener?.close();
    await Promise.all([...this.sequencers.values()].map((s) => s.drain()));
    await this.feed.stop();
    await Promise.all([...this.producers.values()].map((p) => p.stop()));
  }

  /**
   * Messages of one ledger as they commit. With `after` (a cursor from a connection edge or an
   * earlier message), first everything past it is replayed from the database, then live
   * messages follow with no gap and no duplicate: the live queue is opened before the replay
   * reads, and anything the replay already yielded is skipped by position.
   */
  async subscribe<T extends BusTopic>(
    topic: T,
    ledgerName: string,
    options: { after?: string; filter?: EventFilter; accept?: (m: BusMessages[T]) => boolean } = {},
  ): Promise<PushSubscription<BusMessages[T]>> {
    const ledger = await this.ledger(ledgerName);
    const kind = CURSOR_KIND[topic];
    let last = options.after === undefined ? -1 : decodeCursor(kind, options.after, ledger.name);
    if (options.after !== undefined) await this.checkReached(ledger, topic, last);
    await this.feed.track(ledger);
    const accept = options.accept ?? (() => true);
    const live = this.bus.subscribe(topic, ledger.name, accept);
    const position = (m: BusMessages[T]) => positionOf(topic, m);
    const replay = async (after: number) => {
      const page = { first: REPLAY_PAGE, after: encodeCursor(kind, after, ledger.name) };
      const result =
        topic === 'event' ? await this.events(ledger.name, options.filter ?? {}, page)
        : topic === 'block' ? await this.blocks(ledger.name, page)
        : await this.checkpoints(ledger.name, page);
      return result.items.map((i) => i.node as BusMessages[T]);
    };
    // Replaying, live messages are dropped (the database has them), not queued: a replay outlasting
    // the bus's queue would end as a slow consumer. Once a page comes short, live messages are kept
    // again; if any was dropped meanwhile, one more page ('gap') reads what the last one missed, and
    // live messages it also holds are skipped by position. A full gap page: drop and replay again.
    let phase: 'replay' | 'gap' | 'live' = options.after === undefined ? 'live' : 'replay';
    if (phase === 'replay') live.drop();
    const pageRead = (full: boolean) => {
      if (phase === 'replay' && !full) phase = live.resume() ? 'gap' : 'live';
      else if (phase === 'gap') {
        if (full) live.drop();
        phase = full ? 'replay' : 'live';
      }
    };
    const replaying = () => phase !== 'live';
    // An object rather than an async generator: a generator's return() waits behind a pending
    // next(), so a subscriber leaving a quiet ledger would hold its listener until the next
    // message; and a generator cannot push.
    let replayed: BusMessages[T][] = [];
    let closed = false;
    const done = { value: undefined, done: true } as IteratorReturnResult<undefined>;
    const iterator: PushSubscription<BusMessages[T]> = {
      [Symbol.asyncIterator]: () => iterator,
      async next(): Promise<IteratorResult<BusMessages[T]>> {
        while (replaying()) {
          if (replayed.length > 0) return { value: replayed.shift()!, done: false };
          const items = await replay(last);
          if (closed) return done;
          for (const m of items) {
            if (accept(m)) replayed.push(m);
            last = position(m);
          }
          pageRead(items.length === REPLAY_PAGE);
        }
        if (replayed.length > 0) return { value: replayed.shift()!, done: false };
        for (;;) {
          const r = await live.next();
          if (r.done || position(r.value) > last) {
            if (!r.done) last = position(r.value);
            return r;
          }
        }
      },
      async pipe(push, backlog) {
        while (replaying()) {
          const items = await replay(last);
          for (const m of items) {
            const wait = backlog?.();
            if (wait) await wait;
            if (closed) return;
            if (accept(m) && !push(m)) return void (await iterator.return!());
            last = position(m);
          }
          if (closed) return;
          pageRead(items.length === REPLAY_PAGE);
        }
        for (const m of replayed.splice(0)) if (!push(m)) return void (await iterator.return!());
        await live.pipe((m) => {
          if (position(m) <= last) return true;
          last = position(m);
          return push(m);
        });
      },
      async return() {
        closed = true;
        phase = 'live';
        replayed = [];
        await live.return?.();
        return done;
      },
      async throw(e?: unknown) {
        await iterator.return!();
        throw e;
      },
    };
    return iterator;
  }

  verifierKey(): string | null {
    return this.serverKey?.note.verifierKey ?? null;
  }

  /**
   * Refuses an `after` position the ledger has not reached. Cursors name a position only, so one
   * from another ledger (or a later one of a restored database) would otherwise read as "nothing
   * new yet": a poller or subscriber would wait, and then skip every event up to that position.
   */
  private async checkReached(ledger: LedgerRow, topic: BusTopic, position: number): Promise<void> {
    const sql = {
      event: `SELECT tree_size - 1 AS last FROM ledger_heads WHERE ledger_id = $1`,
      block: `SELECT max(height) AS last FROM blocks WHERE ledger_id = $1`,
      checkpoint: `SELECT max(id) AS last FROM checkpoints WHERE ledger_id = $1`,
    }[topic];
    const [row] = await this.dataSource.query(sql, [ledger.id]);
    if (row?.last === null || row?.last === undefined || position > Number(row.last)) {
      throw new ChainproofError('BAD_USER_INPUT', `the after cursor is past the end of ledger ${ledger.name}: it is not one of this ledger's`);
    }
  }

  ledger(name = 'main'): Promise<LedgerRow> {
    return this.registry.get(name);
  }

  ledgers(): Promise<LedgerRow[]> {
    return this.registry.list();
  }

  async createLedger(name: string, params: Partial<LedgerParams>): Promise<LedgerRow> {
    const row = await this.registry.create(name, params);
    await this.feed.track(row);
    if (this.started && this.options.produceBlocks !== false) this.producerFor(row);
    return row;
  }

  /**
   * Reserves a subsystem for events the server writes itself (a domain's own events): clients'
   * appends naming it are refused, so nobody can forge, say, a token mint through `appendEvent`.
   */
  reserveSubsystem(subsystem: string): void {
    this.reservedSubsystems.add(subsystem);
  }

  /**
   * Reserves a whole ledger for the server's own code (say, key administration): a client's
   * event there would read as part of that record, whatever its subsystem.
   */
  reserveLedger(name: string): void {
    this.reservedLedgers.add(name);
  }

  /**
   * Reserves idempotency keys starting with `prefix` for events the server writes itself. Keys
   * are ledger-wide: a client that took one first (say `block-reward:<a future height>`) would
   * get the server's later append answered with the client's event, and the server's never written.
   */
  reserveIdempotencyKeys(prefix: string): void {
    this.reservedKeyPrefixes.push(prefix);
  }

  /** Checkpoints of `ledgerName` carry the state root `provider` computes for their tree size. */
  addStateRoot(ledgerName: string, provider: StateRootProvider): void {
    this.checkpointer.addStateRoot(ledgerName, provider);
  }

  /** Checks a parameter change against the ledger's current parameters without making it. */
  async checkParameters(ledgerName: string, patch: MutableLedgerParams): Promise<void> {
    this.checkParametersChangeable(ledgerName);
    checkChange(await this.ledger(ledgerName), patch);
  }

  /**
   * Refuses changes of a reserved ledger's parameters from outside the server, as it refuses
   * clients' events there: its checkpoint interval decides how soon key changes are signed for
   * offline checkers, so a vote or a contract must not stretch it.
   */
  checkParametersChangeable(ledgerName: string): void {
    if (this.reservedLedgers.has(ledgerName)) {
      throw new ChainproofError('FORBIDDEN', `ledger ${JSON.stringify(ledgerName)} is reserved: its parameters are the server's own`);
    }
  }

  /** Changes parameters inside a caller's transaction (an executing proposal); call `parametersChanged` after commit. */
  setParameters(tx: EntityManager, ledgerName: string, patch: MutableLedgerParams): Promise<void> {
    return updateParams(tx, ledgerName, patch);
  }

  /** Committed parameter changes take effect: this process re-reads them, and tells the others. */
  async parametersChanged(ledgerName: string): Promise<void> {
    await this.reloadParameters(ledgerName);
    if (this.announcer) await this.dataSource.query(`SELECT pg_notify($1, $2)`, [this.announcer.channel, this.announcer.payload('params', ledgerName)]);
  }

  private async reloadParameters(ledgerName: string): Promise<void> {
    this.registry.forget(ledgerName);
    const row = await this.registry.get(ledgerName);
    this.producers.get(ledgerName)?.useParameters(row);
  }

  async head(ledgerName: string): Promise<LedgerHead> {
    const ledger = await this.ledger(ledgerName);
    const [h] = await prepared<{ tree_size: string; root_hash: Buffer; tips: number }>(
      this.dataSource,
      `SELECT tree_size, root_hash, length(tips) / 32 AS tips FROM ledger_heads WHERE ledger_id = $1`,
      [ledger.id],
    );
    return { treeSize: Number(h.tree_size), rootHash: h.root_hash.toString('hex'), tips: Number(h.tips) };
  }

  /**
   * The ledger's clock in ms: the least time the next event it stamps will carry (the wall clock,
   * or the last HLC if a client's stamp, up to the allowed skew ahead, set it further on). What
   * is judged by event times (voting windows, timelocks) is judged by this clock when read.
   */
  async clockMs(ledgerName: string): Promise<number> {
    const ledger = await this.ledger(ledgerName);
    const [h] = await this.dataSource.query(`SELECT ${LEDGER_CLOCK_SQL} AS clock_ms`, [ledger.id]);
    return ledgerClockMs(h.clock_ms);
  }

  /** Ids of the open branches: events no other event names as a parent. */
  async tips(ledgerName: string): Promise<string[]> {
    const ledger = await this.ledger(ledgerName);
    const [h] = await this.dataSource.query(`SELECT tips FROM ledger_heads WHERE ledger_id = $1`, [ledger.id]);
    return splitIds(h.tips);
  }

  /**
   * Appends atomically: every input is sequenced, or (on any bad input) none is. `inputs` may be
   * a function that builds them (checking a caller's records, say), run in this append's turn.
   */
  async append(ledgerName: string, inputs: AppendInputs, options: AppendOptions = {}): Promise<LedgerEvent[]> {
    const started = performance.now();
    try {
      const events = await this.appendUnmeasured(ledgerName, inputs, options);
      this.metrics.appended(ledgerName, events.length, (performance.now() - started) / 1000);
      return events;
    } catch (e) {
      // The name is the caller's: a label per made-up name would grow the metrics without bound.
      this.metrics.refused(this.registry.known(ledgerName) ? ledgerName : UNKNOWN_LEDGER_LABEL, (e as ChainproofError).code ?? 'INTERNAL');
      throw e;
    }
  }

  /**
   * Appends to one ledger enter its sequencer in the order they were called. Checking a large
   * batch yields to the event loop (see mapInSlices), so without this turn-taking a small append
   * called after a large one would overtake it. The turn is taken before anything is awaited,
   * the ledger's look-up included (two look-ups of an uncached ledger may finish in either order).
   */
  private async appendUnmeasured(ledgerName: string, inputs: AppendInputs, options: AppendOptions): Promise<LedgerEvent[]> {
    if (!privileged(options) && this.reservedLedgers.has(ledgerName)) {
      throw new ChainproofError('FORBIDDEN', `ledger ${JSON.stringify(ledgerName)} is reserved for events the server writes itself`);
    }
    // A list given outright is refused at once if its shape is wrong, without waiting for its turn.
    if (typeof inputs !== 'function') this.checkShape(inputs, options);
    const before = this.admitting.get(ledgerName);
    const admitted = (async () => {
      if (before) await before;
      const ledger = await this.ledger(ledgerName);
      const list = typeof inputs === 'function' ? this.checkShape(await inputs(), options) : inputs;
      const prepared = await this.prepare(ledger, list);
      // Wrapped, so that being admitted does not wait for the commit.
      return { committed: this.sequencerFor(ledger).append({ inputs: prepared, ...options }) };
    })();
    const turn = admitted.then(
      () => undefined,
      () => undefined,
    );
    this.admitting.set(ledgerName, turn);
    void turn.then(() => {
      if (this.admitting.get(ledgerName) === turn) this.admitting.delete(ledgerName);
    });
    return (await admitted).committed;
  }

  /** `inputs`, once they are a batch this ledger takes in one append. */
  private checkShape(inputs: AppendInput[], options: AppendOptions): AppendInput[] {
    if (inputs.length === 0) throw new ChainproofError('BAD_USER_INPUT', 'nothing to append');
    if (inputs.length > this.config.maxBatch) {
      throw new ChainproofError('BATCH_TOO_LARGE', `${inputs.length} events in one call; the limit is ${this.config.maxBatch}`);
    }
    if (!privileged(options) && this.reservedSubsystems.size > 0) {
      const i = inputs.findIndex((input) => input.subsystem !== undefined && this.reservedSubsystems.has(input.subsystem));
      if (i >= 0) throw new ChainproofError('FORBIDDEN', `subsystem ${JSON.stringify(inputs[i]!.subsystem)} is reserved for events the server writes itself`);
    }
    if (!privileged(options) && this.reservedKeyPrefixes.length > 0) {
      const key = inputs.find((input) => this.reservedKeyPrefixes.some((p) => input.idempotencyKey?.startsWith(p)))?.idempotencyKey;
      if (key !== undefined) throw new ChainproofError('FORBIDDEN', `idempotency key ${JSON.stringify(key)} is reserved for events the server writes itself`);
    }
    // A key names one event: a repeat of an input in one call gets that event again, but a different
    // input under the same key would be left unwritten, unsaid.
    const byKey = new Map<string, AppendInput>();
    for (const input of inputs) {
      if (input.idempotencyKey === undefined) continue;
      const seen = byKey.get(input.idempotencyKey);
      if (seen === undefined) byKey.set(input.idempotencyKey, input);
      else if (seen !== input && !sameJson(seen, input)) {
        throw new ChainproofError('BAD_USER_INPUT', `idempotencyKey ${JSON.stringify(input.idempotencyKey.slice(0, 80))} is given to two different inputs in one call`);
      }
    }
    return inputs;
  }

  private prepare(ledger: LedgerRow, inputs: AppendInput[]): Promise<PreparedInput[]> {
    const hasher = treeHasher(ledger.hashAlg);
    const now = Date.now();
    const limits = { ...this.config, serverDids: this.serverKey?.dids };
    return mapInSlices(inputs, (input, i) => {
      try {
        return prepareInput(input, ledger.origin, hasher, limits, now);
      } catch (e) {
        if (e instanceof ChainproofError && inputs.length > 1) {
          throw new ChainproofError(e.code, `event ${i}: ${e.message}`, { cause: e, details: { index: i } });
        }
        throw e;
      }
    });
  }

  /**
   * Appends copies of events first written on other nodes, byte for byte, in the order given
   * (parents before children), all or none. Copies already in the ledger are skipped; the
   * result has one entry per input, the stored event. `items` are attacker-controlled.
   * `lead`, when given, is an event of the server's own written just before the copies, in the
   * same transaction (what a sync records about itself).
   */
  async appendReplicated(
    ledgerName: string,
    items: readonly ReplicatedEvent[],
    options: { projection?: Projection; lead?: AppendInput } = {},
  ): Promise<LedgerEvent[]> {
    if (items.length === 0) throw new ChainproofError('BAD_USER_INPUT', 'nothing to append');
    if (items.length > MAX_REPLICATED_BATCH) {
      throw new ChainproofError('BATCH_TOO_LARGE', `${items.length} events in one call; the limit is ${MAX_REPLICATED_BATCH}`);
    }
    const ledger = await this.ledger(ledgerName);
    const hasher = treeHasher(ledger.hashAlg);
    const prepared = items.map((item, i) => {
      try {
        return prepareReplicated(item.canonical, item.signature, ledger.origin, hasher, this.config);
      } catch (e) {
        if (!(e instanceof ChainproofError)) throw e;
        throw new ChainproofError(e.code, `event ${i}: ${e.message}`, { cause: e, details: { index: i } });
      }
    });
    // A copy naming another ledger of this node would pass for an event this node wrote there
    // (its `system` ledger, say), which it did not.
    const origins = [...new Set(prepared.flatMap((p) => (p.foreignOrigin === undefined ? [] : [p.foreignOrigin])))];
    if (origins.length > 0) {
      const [own] = await this.dataSource.query(`SELECT origin FROM ledgers WHERE origin = ANY($1::text[]) LIMIT 1`, [origins]);
      if (own) {
        const i = prepared.findIndex((p) => p.foreignOrigin === own.origin);
        throw new ChainproofError('BAD_EVENT', `event ${i}: the copy names ${JSON.stringify(own.origin)}, a ledger of this node, as its origin`, { details: { index: i } });
      }
    }
    const lead = options.lead && prepareInput(options.lead, ledger.origin, hasher, { ...this.config, serverDids: this.serverKey?.dids });
    const started = performance.now();
    const events = await this.sequencerFor(ledger).append({
      inputs: lead ? [lead, ...prepared] : prepared,
      asServer: lead !== undefined,
      projection: options.projection,
    });
    this.metrics.appended(ledgerName, events.length, (performance.now() - started) / 1000);
    return lead ? events.slice(1) : events;
  }

  /**
   * Leaves [start, end) of the tree of `treeSize` — each event's canonical bytes and signature —
   * with one range proof that they are in that tree (see rangeProofPlan). What a peer pulls.
   */
  async leafRange(ledgerName: string, start: number, end: number, treeSize: number): Promise<LeafRangeResult> {
    const ledger = await this.ledger(ledgerName);
    const head = await this.head(ledger.name);
    const ok = [start, end, treeSize].every(Number.isSafeInteger) && start >= 0 && start < end && end <= treeSize && treeSize <= head.treeSize;
    if (!ok) {
      throw new ChainproofError('PROOF_OUT_OF_RANGE', `no leaves [${start}, ${end}) of a tree of ${treeSize}; the ledger has ${head.treeSize} events`);
    }
    if (end - start > MAX_LEAF_RANGE) {
      throw new ChainproofError('BATCH_TOO_LARGE', `${end - start} leaves asked; at most ${MAX_LEAF_RANGE} per call`);
    }
    const hasher = treeHasher(ledger.hashAlg);
    const tree = storedTree(this.dataSource, ledger.id);
    const [rows, proof] = await Promise.all([
      this.dataSource.query(
        `SELECT idx, canonical, signature FROM events WHERE ledger_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
        [ledger.id, start, end],
      ) as Promise<Array<{ idx: string; canonical: Buffer; signature: Buffer | null }>>,
      rangeProof(tree, hasher, start, end, treeSize),
    ]);
    return {
      start,
      treeSize,
      leaves: rows.map((r) => ({ canonical: r.canonical, signature: r.signature })),
      proof,
    };
  }

  async event(ledgerName: string, id: string): Promise<LedgerEvent | null> {
    if (!isHexId(id)) throw new ChainproofError('BAD_USER_INPUT', 'event id must be 64 lowercase hex characters');
    const ledger = await this.ledger(ledgerName);
    const rows: RawEventRow[] = await this.dataSource.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND id = $2`,
      [ledger.id, Buffer.from(id, 'hex')],
    );
    return rows[0] ? eventFromRow(ledger.name, rows[0]) : null;
  }

  /** Which of `ids` (32-byte event ids) the ledger holds, as lowercase hex. */
  async held(ledgerName: string, ids: readonly Buffer[]): Promise<Set<string>> {
    const ledger = await this.ledger(ledgerName);
    // Through the (ledger_id, id) index whatever the statistics say (see the sequencer's look-up).
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT encode(id, 'hex') AS id FROM events WHERE ledger_id = $1 AND id IN (SELECT unnest($2::bytea[]))`,
      [ledger.id, ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  async eventAt(ledgerName: string, index: number): Promise<LedgerEvent | null> {
    const ledger = await this.ledger(ledgerName);
    const rows: RawEventRow[] = await this.dataSource.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idx = $2`,
      [ledger.id, index],
    );
    return rows[0] ? eventFromRow(ledger.name, rows[0]) : null;
  }

  async events(ledgerName: string, filter: EventFilter, page: PageArgs): Promise<Page<LedgerEvent>> {
    checkFilterText(filter);
    const ledger = await this.ledger(ledgerName);
    const w = pageWindow('event', page, ledger.name);
    const where = ['ledger_id = $1'];
    const params: unknown[] = [ledger.id];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.types?.length) add('type = ANY(?::text[])', filter.types);
    if (filter.actor !== undefined) add('actor = ?', filter.actor);
    if (filter.author !== undefined) add('author = ?', filter.author);
    if (filter.resource !== undefined) add('resource = ?', filter.resource);
    if (filter.subsystem !== undefined) add('subsystem = ?', filter.subsystem);
    if (filter.result !== undefined) add('result = ?', filter.result);
    if (filter.correlationId !== undefined) add('correlation_id = ?', filter.correlationId);
    if (filter.fromMs !== undefined) add('hlc_ms >= ?', filter.fromMs);
    if (filter.toMs !== undefined) add('hlc_ms <= ?', filter.toMs);
    if (w.afterPos !== undefined) add('idx > ?', w.afterPos);
    if (w.beforePos !== undefined) add('idx < ?', w.beforePos);
    params.push(w.limit + 1);
    const rows: RawEventRow[] = await this.dataSource.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')}
       ORDER BY idx ${w.backwards ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
      params,
    );
    if (rows.length === 0 && w.afterPos !== undefined) await this.checkReached(ledger, 'event', w.afterPos);
    return toPage('event', w, rows.map((r) => eventFromRow(ledger.name, r)), (e) => e.index, ledger.name);
  }

  /** Height of the mined block holding event `index`, or null while it is pending. */
  async blockHeightOf(ledgerName: string, index: number): Promise<number | null> {
    const ledger = await this.ledger(ledgerName);
    const [row] = await this.dataSource.query(
      `SELECT height, start_index FROM blocks WHERE ledger_id = $1 AND tree_size > $2 ORDER BY tree_size LIMIT 1`,
      [ledger.id, index],
    );
    return row && Number(row.start_index) <= index ? Number(row.height) : null;
  }

  async block(ledgerName: string, height?: number): Promise<BlockRow | null> {
    const ledger = await this.ledger(ledgerName);
    const repo = this.dataSource.getRepository(BlockRow);
    return height === undefined
      ? repo.findOne({ where: { ledgerId: ledger.id }, order: { height: 'DESC' } })
      : repo.findOneBy({ ledgerId: ledger.id, height });
  }

  async blocks(ledgerName: string, page: PageArgs): Promise<Page<BlockRow>> {
    const ledger = await this.ledger(ledgerName);
    const w = pageWindow('block', page, ledger.name);
    const qb = this.dataSource.getRepository(BlockRow).createQueryBuilder('b').where('b.ledger_id = :id', { id: ledger.id });
    if (w.afterPos !== undefined) qb.andWhere('b.height > :after', { after: w.afterPos });
    if (w.beforePos !== undefined) qb.andWhere('b.height < :before', { before: w.beforePos });
    const rows = await qb.orderBy('b.height', w.backwards ? 'DESC' : 'ASC').limit(w.limit + 1).getMany();
    if (rows.length === 0 && w.afterPos !== undefined) await this.checkReached(ledger, 'block', w.afterPos);
    return toPage('block', w, rows, (b) => b.height, ledger.name);
  }

  /** The latest checkpoint at `treeSize`, or the latest of all. */
  async checkpoint(ledgerName: string, treeSize?: number): Promise<CheckpointRow | null> {
    const ledger = await this.ledger(ledgerName);
    const where = treeSize === undefined ? { ledgerId: ledger.id } : { ledgerId: ledger.id, treeSize };
    return this.dataSource.getRepository(CheckpointRow).findOne({ where, order: { treeSize: 'DESC', id: 'DESC' } });
  }

  async checkpoints(ledgerName: string, page: PageArgs): Promise<Page<CheckpointRow>> {
    const ledger = await this.ledger(ledgerName);
    const w = pageWindow('checkpoint', page, ledger.name);
    const qb = this.dataSource.getRepository(CheckpointRow).createQueryBuilder('c').where('c.ledger_id = :id', { id: ledger.id });
    if (w.afterPos !== undefined) qb.andWhere('c.id > :after', { after: w.afterPos });
    if (w.beforePos !== undefined) qb.andWhere('c.id < :before', { before: w.beforePos });
    const rows = await qb.orderBy('c.id', w.backwards ? 'DESC' : 'ASC').limit(w.limit + 1).getMany();
    if (rows.length === 0 && w.afterPos !== undefined) await this.checkReached(ledger, 'checkpoint', w.afterPos);
    return toPage('checkpoint', w, rows, (c) => c.id, ledger.name);
  }

  /**
   * The newest checkpoint, first signing one at the newest mined block if that is past it: what
   * a peer pulls up to. At most one new checkpoint per block, so readers cannot make it sign at will.
   */
  async syncCheckpoint(ledgerName: string): Promise<CheckpointRow | null> {
    const ledger = await this.ledger(ledgerName);
    const [latest, block] = await Promise.all([this.checkpoint(ledger.name), this.block(ledger.name)]);
    if (!block || !this.checkpointer.canSign || (latest && latest.treeSize >= block.treeSize)) return latest;
    let pending = this.signing.get(ledger.name);
    if (!pending) {
      pending = this.checkpointer.create(ledger, block, undefined, ['sync']).finally(() => this.signing.delete(ledger.name));
      this.signing.set(ledger.name, pending);
    }
    const made = await pending;
    return made.treeSize >= block.treeSize ? made : this.syncCheckpoint(ledgerName);
  }

  /** Seals everything appended so far into mined blocks and signs a checkpoint at the last one. */
  async createCheckpoint(ledgerName: string, name?: string, tags: string[] = []): Promise<CheckpointRow> {
    const ledger = await this.ledger(ledgerName);
    if (!this.checkpointer.canSign) {
      throw new ChainproofError(
        'SIGNING_KEY_MISSING',
        'no signing key configured: set CHAINPROOF_SIGNING_SEED or CHAINPROOF_SIGNING_KEY_FILE to create checkpoints',
      );
    }
    checkCheckpointLabels(name, tags); // refused before sealNow, so a refusal changes nothing
    await this.producerFor(ledger).sealNow();
    const block = await this.block(ledger.name);
    if (!block) throw new ChainproofError('NOTHING_TO_CHECKPOINT', `ledger ${ledger.name} has no events yet`);
    return this.checkpointer.create(ledger, block, name, tags);
  }

  /**
   * Inclusion proof of one event in the tree of `treeSize` (default: the latest checkpoint's
   * size if it covers the event, else the current size), from stored subtree hashes.
   */
  async inclusionProof(
    ledgerName: string,
    target: { index?: number; eventId?: string },
    treeSize?: number,
  ): Promise<InclusionProofResult> {
    const ledger = await this.ledger(ledgerName);
    if ((target.index === undefined) === (target.eventId === undefined)) {
      throw new ChainproofError('BAD_USER_INPUT', 'give exactly one of index or eventId');
    }
    let index = target.index;
    if (target.eventId !== undefined) {
      const e = await this.event(ledger.name, target.eventId);
      if (!e) throw new ChainproofError('NOT_FOUND', `no event ${target.eventId} in ledger ${ledger.name}`);
      index = e.index;
    }
    // Read together, so the head may be older than the checkpoint: a checkpointed tree exists all the same.
    const [head, found] = await Promise.all([this.head(ledger.name), this.checkpoint(ledger.name, treeSize)]);
    const size = Math.max(head.treeSize, found?.treeSize ?? 0);
    // Without a size asked for, the latest checkpoint serves if it covers the event, else the current tree.
    const checkpoint = treeSize === undefined && found && found.treeSize <= index! ? null : found;
    treeSize ??= checkpoint?.treeSize ?? head.treeSize;
    if (!Number.isSafeInteger(index) || index! < 0 || !Number.isSafeInteger(treeSize) || index! >= treeSize || treeSize > size) {
      throw new ChainproofError(
        'PROOF_OUT_OF_RANGE',
        `no inclusion proof for index ${index} in a tree of size ${treeSize}; the ledger has ${size} events`,
      );
    }
    const hasher = treeHasher(ledger.hashAlg);
    const tree = batchingReader(storedTree(this.dataSource, ledger.id));
    const started = performance.now();
    const [hashes, root, [leaf]] = await Promise.all([
      inclusionProof(tree, hasher, index!, treeSize),
      rootAt(tree, hasher, treeSize),
      tree.getNodes([{ level: 0, index: index! }]),
    ]);
    this.metrics.proof('inclusion', (performance.now() - started) / 1000);
    return {
      leafIndex: index!,
      treeSize,
      leafHash: leaf!.toString('hex'),
      hashes: hashes.map((h) => h.toString('hex')),
      rootHash: root.toString('hex'),
      checkpoint,
    };
  }

  async consistencyProof(ledgerName: string, fromSize: number, toSize?: number): Promise<ConsistencyProofResult> {
    const ledger = await this.ledger(ledgerName);
    const head = await this.head(ledger.name);
    const to = toSize ?? head.treeSize;
    if (!Number.isSafeInteger(fromSize) || !Number.isSafeInteger(to) || fromSize < 0 || fromSize > to || to > head.treeSize) {
      throw new ChainproofError(
        'PROOF_OUT_OF_RANGE',
        `no consistency proof from ${fromSize} to ${to}; need 0 ≤ fromSize ≤ toSize ≤ ${head.treeSize}`,
      );
    }
    const hasher = treeHasher(ledger.hashAlg);
    const tree = batchingReader(storedTree(this.dataSource, ledger.id));
    const started = performance.now();
    const [hashes, fromRoot, toRoot] = await Promise.all([
      consistencyProof(tree, hasher, fromSize, to),
      rootAt(tree, hasher, fromSize),
      rootAt(tree, hasher, to),
    ]);
    this.metrics.proof('consistency', (performance.now() - started) / 1000);
    return {
      fromSize,
      toSize: to,
      hashes: hashes.map((h) => h.toString('hex')),
      fromRoot: fromRoot.toString('hex'),
      toRoot: toRoot.toString('hex'),
    };
  }

  /**
   * Full verifications of one ledger asked for while one runs share its report (it scans the
   * whole ledger on one connection; thirty at once would hold the pool). A caller watching
   * progress, or bringing its own verifier key, runs its own.
   */
  async verify(
    ledgerName: string,
    full: boolean,
    options: { onProgress?: (done: number, total: number) => void; verifierKeys?: readonly string[] } = {},
  ): Promise<VerificationReport> {
    const ledger = await this.ledger(ledgerName);
    const { onProgress } = options;
    // The caller's keys first: an auditor's copies of the published keys, not ones derived from a seed here.
    const verifierKeys = options.verifierKeys ?? (this.serverKey ? [this.serverKey.note.verifierKey, ...this.serverKey.previous] : []);
    const run = () => verifyLedger(this.dataSource, ledger, { full, verifierKeys, onProgress });
    if (!full || onProgress || options.verifierKeys) return run();
    let shared = this.fullVerifications.get(ledger.name);
    if (!shared) {
      shared = run().finally(() => this.fullVerifications.delete(ledger.name));
      this.fullVerifications.set(ledger.name, shared);
    }
    return shared;
  }

  async activitySummary(ledgerName: string, sinceMs: number) {
    return this.analytics.activity(await this.ledger(ledgerName), sinceMs);
  }

  async failureSummary(ledgerName: string, sinceMs: number) {
    return this.analytics.failures(await this.ledger(ledgerName), sinceMs);
  }

  async subsystemGaps(ledgerName: string, quietForMs: number) {
    if (!Number.isSafeInteger(quietForMs) || quietForMs < 0) throw new ChainproofError('BAD_USER_INPUT', 'quietFor must be a non-negative number of seconds');
    return this.analytics.subsystemGaps(await this.ledger(ledgerName), quietForMs);
  }

  async stats(ledgerName: string) {
    const ledger = await this.ledger(ledgerName);
    const head = await this.head(ledger.name);
    const [b] = await this.dataSource.query(
      `SELECT count(*) AS blocks, max(height) AS height, max(tree_size) AS sealed,
              (SELECT difficulty FROM blocks WHERE ledger_id = $1 ORDER BY height DESC LIMIT 1) AS difficulty
         FROM blocks WHERE ledger_id = $1`,
      [ledger.id],
    );
    const [avg] = await this.dataSource.query(
      `SELECT (max(timestamp_ms) - min(timestamp_ms))::float8 / greatest(count(*) - 1, 1) AS avg_ms
         FROM (SELECT timestamp_ms FROM blocks WHERE ledger_id = $1 ORDER BY height DESC LIMIT 100) recent`,
      [ledger.id],
    );
    const byType: Array<{ type: string; n: string }> = await this.dataSource.query(
      `SELECT type, count(*) AS n FROM events WHERE ledger_id = $1 GROUP BY type ORDER BY n DESC LIMIT 100`,
      [ledger.id],
    );
    const checkpoint = await this.checkpoint(ledger.name);
    const pendingEvents = head.treeSize - Number(b.sealed ?? 0);
    return {
      ledger: ledger.name,
      uniqueAuthors: await this.analytics.uniqueAuthors(ledger),
      // Mining is behind when more than two blocks' worth of events wait to be sealed.
      status: pendingEvents > 2 * ledger.blockSize ? 'MINING_BEHIND' : 'OK',
      treeSize: head.treeSize,
      rootHash: head.rootHash,
      tips: head.tips,
      blocks: Number(b.blocks),
      blockHeight: b.height === null ? null : Number(b.height),
      pendingEvents,
      difficulty: b.difficulty ?? ledger.initialDifficulty,
      averageBlockMs: Number(b.blocks) > 1 ? Number(avg.avg_ms) : null,
      checkpointTreeSize: checkpoint?.treeSize ?? null,
      checkpointBlockHeight: checkpoint?.blockHeight ?? null,
      eventsByType: byType.map((r) => ({ type: r.type, count: Number(r.n) })),
    };
  }

  private sequencerFor(ledger: LedgerRow): LedgerSequencer {
    let s = this.sequencers.get(ledger.name);
    if (!s) {
      // A ledger another process created: this process seals its blocks too.
      if (this.started && this.options.produceBlocks !== false) this.producerFor(ledger);
      s = new LedgerSequencer(
        this.dataSource,
        ledger,
        this.serverKey,
        (events) => {
          if (events) this.metrics.committed(ledger.name, events.length);
          this.notify(ledger, 'event', events);
          this.wakeCommitWatchers(ledger.name);
        },
        this.announcer,
        (outcome) => this.metrics.lookedAhead(ledger.name, outcome),
      );
      this.sequencers.set(ledger.name, s);
    }
    return s;
  }

  private producerFor(ledger: LedgerRow): BlockProducer {
    let p = this.producers.get(ledger.name);
    if (!p) {
      // A miner per ledger: one ledger's hard block must not hold up another's.
      const miner = new Miner({ workers: this.config.minerWorkers });
      const producer = new BlockProducer(
        this.dataSource,
        ledger,
        miner,
        (l, blocks) => this.notify(l, 'block', blocks),
        this.checkpointer,
        this.log,
        this.metrics,
        this.announcer,
      );
      this.producers.set(ledger.name, (p = producer));
      // A process that does not produce blocks (the CLI) seals only when asked (createCheckpoint),
      // not on every later commit it sees.
      if (this.options.produceBlocks !== false) {
        // New events, here or (on PostgreSQL) in another process, may make a block due.
        this.onCommit(ledger.name, () => producer.nudge());
        p.start();
      }
    }
    return p;
  }
}

/** Whether two inputs are the same JSON, key order aside (false where either is not JSON at all). */
function sameJson(a: unknown, b: unknown): boolean {
  try {
    return rfc8785(a) === rfc8785(b);
  } catch {
    return false;
  }
}
