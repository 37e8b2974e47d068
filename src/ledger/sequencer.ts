import type { DataSource, EntityManager } from 'typeorm';
import { binaryArray } from '../db/binary-array.js';
import type { Announcer } from '../db/pg-listener.js';
import { ChainproofError, isChainproofError } from '../errors.js';
import { transientDatabaseError } from '../db/transient.js';
import type { LedgerRow } from './entities/index.js';
import { canonicalBytes, compareHlc, MAX_HLC_LOGICAL, MAX_PARENTS, type Hlc } from './events/envelope.js';
import { joinIds, splitIds, type LedgerEvent } from './events/event.js';
import { envelopeOf, type PreparedInput } from './events/prepare.js';
import { slicer } from './in-slices.js';
import { Frontier, treeHasher, type NewNode, type TreeHasher } from './merkle/index.js';

/**
 * Runs inside the append's transaction, after its events are sequenced, so a projection
 * commits or rolls back with the events that cause it. The ledger does not know what it writes.
 */
export type ProjectionWriter = (tx: EntityManager, events: readonly LedgerEvent[]) => Promise<void>;

/**
 * One projection for many appends: the requests of a transaction that name the same group are
 * projected by a single call, in ledger order, so a burst of one-event appends (votes, say) pays
 * the projection's round trips under the head lock once rather than once per request. If it
 * throws, the transaction rolls back and each request is retried alone, as with any projection.
 */
export interface ProjectionGroup<C> {
  project(tx: EntityManager, requests: ReadonlyArray<{ events: readonly LedgerEvent[]; context: C }>): Promise<void>;
}

/** An append's share of a ProjectionGroup: the group, and what this request hands it (where its results go). */
export interface GroupedProjection<C> {
  group: ProjectionGroup<C>;
  context: C;
}

export type Projection = ProjectionWriter | GroupedProjection<unknown>;

/** Signs what the server writes in its own name. */
export interface ServerSigner {
  did: string;
  /** One signature per message, in order; many are signed off this thread (see NoteSigner.signMany). */
  signMany(messages: readonly Uint8Array[]): Promise<Buffer[]>;
}

export interface AppendRequest {
  inputs: PreparedInput[];
  /** Sign each event as the server (author = server DID). */
  asServer?: boolean;
  projection?: Projection;
}

interface Pending extends AppendRequest {
  resolve(events: LedgerEvent[]): void;
  reject(e: unknown): void;
}

/** Most events (and payload bytes) one transaction takes; bigger queues are drained over several. */
const MAX_EVENTS_PER_COMMIT = 10_000;
const MAX_BYTES_PER_COMMIT = 32 * 1024 * 1024;

/**
 * Fewest events worth sequencing ahead (see LedgerSequencer.lookAhead): below this a batch's own
 * work is a few milliseconds, and taking requests early would only split what one commit could take.
 */
const LOOK_AHEAD_MIN_EVENTS = 500;

/** The unique index on event ids refused an insert: the same bytes are in the ledger already (lookUp should have found them). */
function duplicateEvent(e: unknown): ChainproofError | undefined {
  const err = e as { constraint?: string; driverError?: { constraint?: string } };
  if ((err?.constraint ?? err?.driverError?.constraint) !== 'events_id_key') return undefined;
  return new ChainproofError('CONFLICT', 'an event with exactly these bytes is in the ledger already', { cause: e });
}

/** An error raised before COMMIT: the transaction rolled back, so nothing of the batch landed. */
class RolledBack extends Error {
  constructor(override readonly cause: unknown) {
    super('append transaction rolled back', { cause });
  }
}

/** Runs the batch's projections in ledger order; consecutive requests of one group go in one call. */
async function project(tx: EntityManager, batch: readonly Pending[], outcomes: readonly Outcome[]): Promise<void> {
  const due = batch.flatMap((p, i) => {
    const o = outcomes[i]!;
    return !o.error && p.projection && o.fresh.length > 0 ? [{ projection: p.projection, events: o.fresh }] : [];
  });
  for (let i = 0; i < due.length; ) {
    const { projection, events } = due[i]!;
    if (typeof projection === 'function') {
      await projection(tx, events);
      i++;
      continue;
    }
    const requests: Array<{ events: readonly LedgerEvent[]; context: unknown }> = [];
    for (; i < due.length; i++) {
      const next = due[i]!.projection;
      if (typeof next === 'function' || next.group !== projection.group) break;
      requests.push({ events: due[i]!.events, context: next.context });
    }
    await projection.group.project(tx, requests);
  }
  // A projection that caught a database error left the transaction aborted, and PostgreSQL
  // answers COMMIT of an aborted transaction by rolling back, without an error: the batch
  // would be acknowledged and never stored. One more statement finds out (25P02) before COMMIT.
  if (due.length > 0) {
    await tx.query('SELECT 1').catch((cause: { code?: unknown }) => {
      if (cause?.code !== '25P02') throw cause;
      throw new ChainproofError('INTERNAL', 'a projection caught a database error; its transaction is aborted, so nothing of it was stored', { cause });
    });
  }
}

/**
 * Group commit for one ledger. Appends queue up while a transaction is in flight and the
 * next transaction takes them all: it locks the ledger's head row (one sequence across all
 * server processes), assigns consecutive indexes, inserts events and new tree nodes, runs
 * projections, commits — and only then answers every caller in it.
 */
export class LedgerSequencer {
  private queue: Pending[] = [];
  private flushing = false;
  private readonly hasher: TreeHasher;
  /** Where the transaction in flight leaves the head, once it has sequenced: the next batch may start from it. */
  private aheadFrom: { state: SequenceState; known: Known } | undefined;
  /** The next batch, taken from the queue and sequenced ahead. */
  private ahead: Ahead | undefined;
  /** The head the last committed transaction left, with its tips' events (see knownTips). */
  private committed: CommittedHead | undefined;
  /** Another process moved the head since this one's last commit: sequencing before the lock would be wasted. */
  private othersAppend = false;
  /** The latest `appendedAt` given: a wall clock stepped back does not take the next leaf's back with it. */
  private lastAppendedMs = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerRow,
    private readonly serverSigner: ServerSigner | undefined,
    /**
     * Events were committed, in order; or, called without them, may have been (a COMMIT whose
     * reply never came): whoever follows the ledger here reads the database to find out. This
     * process does not hear its own NOTIFY, so nothing else would tell them.
     */
    private readonly onCommitted: (events?: LedgerEvent[]) => void,
    /** What NOTIFYs other processes in the append's own transaction (delivered exactly on commit). */
    private readonly announcer?: Announcer,
    /** Whether a batch sequenced ahead was used, or done again because the head had moved. */
    private readonly onLookedAhead: (outcome: 'used' | 'redone') => void = () => {},
  ) {
    this.hasher = treeHasher(ledger.hashAlg);
  }

  append(request: AppendRequest): Promise<LedgerEvent[]> {
    if (request.asServer && !this.serverSigner) {
      return Promise.reject(new ChainproofError('SIGNING_KEY_MISSING', 'the server has no signing key to sign its own events'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject });
      if (!this.flushing) void this.flush();
      else this.lookAhead();
    });
  }

  /** Resolves once nothing is queued or in flight (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.ahead || this.queue.length > 0) {
        const ahead = this.ahead;
        this.ahead = undefined;
        await this.commit(ahead ? ahead.batch : this.takeBatch(), ahead);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The requests at the head of the queue that fit one commit; with `headOnly`, only as far as they are all head-only. */
  private takeBatch(headOnly = false): Pending[] {
    let n = 0;
    let events = 0;
    let bytes = 0;
    for (; n < this.queue.length; n++) {
      const p = this.queue[n]!;
      const size = p.inputs.reduce((sum, i) => sum + i.bytes, 0);
      if (n > 0 && (events + p.inputs.length > MAX_EVENTS_PER_COMMIT || bytes + size > MAX_BYTES_PER_COMMIT)) break;
      if (headOnly && !dependsOnHeadOnly(p)) break;
      events += p.inputs.length;
      bytes += size;
    }
    return this.queue.splice(0, n);
  }

  /**
   * While a transaction writes a large batch, PostgreSQL works and this thread would wait: so the
   * next batch is sequenced (envelopes, ids, signatures, tree nodes) from the head that transaction
   * leaves. The next transaction uses that work only if it finds exactly that head under the lock;
   * if the batch before rolled back or another process appended, it sequences the batch again.
   * Only appends whose sequencing needs nothing but the head qualify (see dependsOnHeadOnly).
   */
  private lookAhead(): void {
    const from = this.aheadFrom;
    if (!from || this.ahead) return;
    let events = 0;
    for (const p of this.queue) {
      if (!dependsOnHeadOnly(p)) break;
      events += p.inputs.length;
      if (events >= LOOK_AHEAD_MIN_EVENTS) break;
    }
    if (events < LOOK_AHEAD_MIN_EVENTS) return;
    // The tips are all the work needs of what is known; the rest would only pile up batch after batch.
    const head = committedHead(from.state, from.known);
    if (!head) return;
    this.aheadFrom = undefined;
    this.ahead = this.sequenceAhead(this.takeBatch(true), head, false);
  }

  /**
   * Starts sequencing `batch` from `head`, to be written only if the head is still that one when
   * its transaction writes (see sequence). With `hurry`, without yielding to the event loop.
   */
  private sequenceAhead(batch: Pending[], head: CommittedHead, hurry: boolean): Ahead {
    const pacing: Pacing = { hurry };
    const work = this.sequenceAll(batch, stateOf(this.hasher, head.after), knownOf(head.tips), pacing);
    // Awaited only if its head holds; a failure then means the batch is sequenced again, never unhandled.
    work.catch(() => {});
    return { batch, after: head.after, work, pacing };
  }

  /**
   * Commits a batch and answers its callers. Never throws: every caller is resolved or rejected.
   * `ahead` is the batch's work done ahead, if any; `lookAhead` lets the next batch start early.
   */
  private async commit(batch: Pending[], ahead?: Ahead, lookAhead = true): Promise<void> {
    let outcomes: Outcome[];
    ahead ??= this.fromCommitted(batch);
    try {
      let leaves: CommittedHead | undefined;
      // READ COMMITTED, as every connection is opened (src/db/database.ts).
      ({ outcomes, leaves } = await this.dataSource.transaction(async (tx) => {
        try {
          return await this.sequence(tx, batch, ahead, lookAhead);
        } catch (e) {
          throw new RolledBack(e);
        }
      }));
      this.committed = leaves;
    } catch (e) {
      this.committed = undefined;
      if (e instanceof RolledBack && (e.cause as { code?: unknown })?.code === '55P03') {
        // Nothing was committed, and the cause — the head locked past lock_timeout by another
        // process — is nobody's request: retried alone, each would wait as long again.
        const unavailable = transientDatabaseError(e.cause)!;
        for (const p of batch) p.reject(unavailable);
      } else if (e instanceof RolledBack) {
        // Nothing was committed. One caller's failure (a projection, say) must not fail the others: retry alone.
        if (batch.length > 1) for (const p of batch) await this.commit([p], undefined, false);
        else batch[0]!.reject(transientDatabaseError(e.cause) ?? duplicateEvent(e.cause) ?? e.cause);
      } else {
        // COMMIT itself failed (e.g. the connection dropped): the outcome is unknown, so never retry blindly.
        const unknown = new ChainproofError(
          'UNAVAILABLE',
          'the database failed while committing; the append may or may not have landed — retry with an idempotencyKey',
          { cause: e },
        );
        for (const p of batch) p.reject(unknown);
        this.tellCommitted();
      }
      return;
    }
    const fresh: LedgerEvent[] = [];
    outcomes.forEach((o, i) => {
      if (o.error) batch[i]!.reject(o.error);
      else {
        batch[i]!.resolve(o.events);
        fresh.push(...o.fresh);
      }
    });
    if (fresh.length > 0) this.tellCommitted(fresh);
  }

  private tellCommitted(fresh?: LedgerEvent[]): void {
    try {
      this.onCommitted(fresh);
    } catch {
      // Listeners run after commit; their failure must never look like a failed append.
    }
  }

  /**
   * A batch of head-only requests sequenced now, before the transaction, from the head this
   * process's last commit left, to be written only if the head is still that one (see sequence).
   * Not tried while other processes append: the work would mostly be done twice.
   */
  private fromCommitted(batch: Pending[]): Ahead | undefined {
    if (!this.committed || this.othersAppend || !batch.every(dependsOnHeadOnly)) return undefined;
    return { ...this.sequenceAhead(batch, this.committed, true), fromCommitted: true };
  }

  /**
   * The batch's outcomes, and the head the transaction leaves if it commits (with its tips' events, while they are few).
   *
   * A batch sequenced ahead is written by one statement that locks the head row only if it is
   * still the head the work started from, and writes nothing otherwise; the batch is then
   * sequenced again from the head as the lock finds it. So a lone append needs no round trip
   * of its own to lock and read the head.
   */
  private async sequence(
    tx: EntityManager,
    batch: Pending[],
    ahead: Ahead | undefined,
    lookAhead: boolean,
  ): Promise<{ outcomes: Outcome[]; leaves: CommittedHead | undefined }> {
    try {
      let done: Sequenced | undefined;
      if (ahead) {
        ahead.pacing.hurry = true;
        const work = await ahead.work.catch(() => undefined);
        if (work) {
          if (lookAhead) this.startNext(work);
          if (await this.write(tx, work, ahead.after)) done = work;
        }
        // No batch may start from this one's head, which never was (one already started is done again).
        if (!done) this.aheadFrom = undefined;
        if (!ahead.fromCommitted) this.onLookedAhead(done ? 'used' : 'redone');
      }
      if (!done) {
        const [row] = await tx.query(
          `SELECT tree_size, frontier, last_hlc_ms, last_hlc_logical, tips FROM ledger_heads WHERE ledger_id = $1 FOR UPDATE`,
          [this.ledger.id],
        );
        if (!row) throw new ChainproofError('UNKNOWN_LEDGER', `ledger ${this.ledger.name} has no head row`);
        const head = headOfRow(row);
        this.othersAppend = this.committed !== undefined && !sameHead(head, this.committed.after);
        const state = stateOf(this.hasher, head);
        done = await this.sequenceAll(batch, state, this.knownTips(head, batch) ?? (await this.lookUp(tx, batch, state.tips)));
        if (lookAhead) this.startNext(done);
        await this.write(tx, done);
      }
      await project(tx, batch, done.outcomes);
      return { outcomes: done.outcomes, leaves: committedHead(done.state, done.known) };
    } finally {
      this.aheadFrom = undefined;
    }
  }

  /** Lets the next batch be sequenced from the head `done` leaves while this one is written. */
  private startNext(done: Sequenced): void {
    this.aheadFrom = { state: done.state, known: done.known };
    this.lookAhead();
  }

  /** Sequences every request of a batch from `state`; with `pacing` (ahead of the lock), yields to the event loop now and then. */
  private async sequenceAll(batch: Pending[], state: SequenceState, known: Known, pacing?: Pacing): Promise<Sequenced> {
    const rows: NewEventRow[] = [];
    const nodes: NewNode[] = [];
    const outcomes: Outcome[] = [];
    const pause = slicer();
    const pace = pacing
      ? async () => {
          if (!pacing.hurry) await pause();
        }
      : undefined;
    for (const p of batch) outcomes.push(await this.sequenceRequest(p, state, known, rows, nodes, pace));
    await this.signAsServer(rows.filter((r) => r.byServer).map((r) => r.event));
    return { state, known, rows, nodes, outcomes };
  }

  /**
   * The events, the tree nodes and the new head in one statement (and the NOTIFY other processes
   * wait for, delivered on commit): one round trip where three or four were. With `expected`, the
   * statement first locks the head row if it is exactly that head, and writes nothing if not
   * (returning false): under READ COMMITTED a lock that waited re-reads the row it gets, so a
   * head another process moved meanwhile no longer matches.
   */
  private async write(tx: EntityManager, done: Sequenced, expected?: HeadSnapshot): Promise<boolean> {
    const { state, rows, nodes } = done;
    // The row as snapshotOf describes it, so the next batch's sameHead compares what is stored here.
    const head = snapshotOf(state);
    const params: unknown[] = [
      this.ledger.id, ...eventColumns(rows), ...nodeColumns(nodes),
      head.size, head.frontier, state.frontier.root(), head.lastHlc.physicalMs, head.lastHlc.logical, head.tips,
    ];
    const at = (value: unknown) => `$${params.push(value)}`;
    const guard = expected
      ? `head AS (SELECT 1 FROM ledger_heads WHERE ledger_id = $1 AND tree_size = ${at(expected.size)} AND frontier = ${at(expected.frontier)}
           AND tips = ${at(expected.tips)} AND last_hlc_ms = ${at(expected.lastHlc.physicalMs)} AND last_hlc_logical = ${at(expected.lastHlc.logical)}
           FOR UPDATE),`
      : '';
    const ifHead = expected ? ' WHERE EXISTS (SELECT 1 FROM head)' : '';
    const notify = this.announcer !== undefined && rows.length > 0 ? `pg_notify(${at(this.announcer.channel)}, ${at(this.announcer.payload('event', this.ledger.name))})` : '1';
    const [, updated] = await tx.query(
      `WITH ${guard} new_events AS (${INSERT_EVENTS}${ifHead}), new_nodes AS (${INSERT_NODES}${ifHead})
       UPDATE ledger_heads SET tree_size = $22, frontier = $23, root_hash = $24, last_hlc_ms = $25, last_hlc_logical = $26, tips = $27
        WHERE ledger_id = $1${expected ? ' AND EXISTS (SELECT 1 FROM head)' : ''} RETURNING ${notify}`,
      params,
    );
    return updated === 1;
  }

  /** Signs the events the server writes in its own name, all in one step. */
  private async signAsServer(events: LedgerEvent[]): Promise<void> {
    if (events.length === 0) return;
    const signatures = await this.serverSigner!.signMany(events.map((e) => e.canonical));
    events.forEach((e, i) => void (e.signature = signatures[i]!.toString('hex')));
  }

  /**
   * What a batch of head-only requests needs to know, without a round trip: the tips' events, if
   * the locked head is exactly the one this process's last commit left (no other process, no
   * rollback since). Otherwise undefined, and lookUp reads them.
   */
  private knownTips(head: HeadSnapshot, batch: Pending[]): Known | undefined {
    const c = this.committed;
    if (!c || !batch.every(dependsOnHeadOnly) || !sameHead(head, c.after)) return undefined;
    return knownOf(c.tips);
  }

  /** One round trip for everything the batch refers to: idempotency keys, signed ids, parents, tips. */
  private async lookUp(tx: EntityManager, batch: Pending[], tips: string[]): Promise<Known> {
    const keys = new Set<string>();
    const ids = new Set<string>(tips);
    for (const p of batch) {
      for (const prepared of p.inputs) {
        const { input, signed } = prepared;
        if (input.idempotencyKey !== undefined) keys.add(input.idempotencyKey);
        if (signed) ids.add(signed.id.toString('hex'));
        // Given its parents and hlc, an unsigned event's id is fixed too: sent again, it is found, not inserted twice.
        else if (input.parents && input.hlc) ids.add(this.unsigned(prepared, p.asServer === true, input.parents, input.hlc).id.toString('hex'));
        for (const parent of input.parents ?? []) ids.add(parent);
      }
    }
    const known: Known = { byId: new Map(), byKey: new Map() };
    if (keys.size === 0 && ids.size === 0) return known;
    // Each id is looked up through the (ledger_id, id) index, whatever the table's statistics say: a freshly
    // filled table has none, and `id = ANY(…) OR …` was then planned as a scan of the ledger's every row.
    // An event found both ways comes twice, which the maps below absorb.
    const rows: RawEventRow[] = await tx.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND id IN (SELECT unnest($2::bytea[]))
       UNION ALL
       SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idempotency_key = ANY($3::text[])`,
      [this.ledger.id, [...ids].map((h) => Buffer.from(h, 'hex')), [...keys]],
    );
    for (const r of rows) {
      const e = eventFromRow(this.ledger.name, r);
      known.byId.set(e.id, e);
      if (e.idempotencyKey !== null) known.byKey.set(e.idempotencyKey, e);
    }
    return known;
  }

  private async sequenceRequest(
    p: Pending,
    state: SequenceState,
    known: Known,
    rows: NewEventRow[],
    nodes: NewNode[],
    pace: (() => Promise<void>) | undefined,
  ): Promise<Outcome> {
    const saved = { frontier: state.frontier.toBytes(), size: state.frontier.size, tips: state.tips, lastHlc: state.lastHlc };
    const mark = { rows: rows.length, nodes: nodes.length, ids: [] as string[], keys: [] as string[] };
    const events: LedgerEvent[] = [];
    const fresh: LedgerEvent[] = [];
    try {
      for (const prepared of p.inputs) {
        if (pace) await pace();
        const existing = this.existing(prepared, known);
        if (existing) {
          // The server's own keys (block rewards) stand for "at most once": the first write wins.
          if (p.asServer !== true && !this.repeats(prepared, existing)) {
            throw new ChainproofError(
              'CONFLICT',
              `idempotencyKey ${JSON.stringify(prepared.input.idempotencyKey!.slice(0, 80))} already wrote a different event; a retry must repeat the first request`,
            );
          }
          events.push(existing);
          continue;
        }
        if (prepared.ownCopy) {
          throw new ChainproofError('BAD_EVENT', `a copy claims this ledger's own origin ${this.ledger.origin}, which never wrote it`);
        }
        const e = this.sequenceOne(prepared, p.asServer === true, state, known, nodes);
        if (known.byId.get(e.id) === e) {
          // The same envelope again (same parents and hlc): it is already in the ledger.
          events.push(e);
          continue;
        }
        if (prepared.unlessRetry) throw prepared.unlessRetry;
        rows.push({ event: e, idempotencyKey: prepared.input.idempotencyKey, foreignOrigin: prepared.foreignOrigin, byServer: p.asServer === true && !prepared.signed });
        known.byId.set(e.id, e);
        mark.ids.push(e.id);
        if (e.idempotencyKey !== null) {
          known.byKey.set(e.idempotencyKey, e);
          mark.keys.push(e.idempotencyKey);
        }
        events.push(e);
        fresh.push(e);
      }
      return { events, fresh };
    } catch (error) {
      if (!isChainproofError(error)) throw error;
      // All or nothing per request: undo this request's share of the batch.
      state.frontier = Frontier.fromBytes(this.hasher, saved.size, saved.frontier);
      state.tips = saved.tips;
      state.lastHlc = saved.lastHlc;
      rows.length = mark.rows;
      nodes.length = mark.nodes;
      for (const id of mark.ids) known.byId.delete(id);
      for (const k of mark.keys) known.byKey.delete(k);
      return { error, events: [], fresh: [] };
    }
  }

  private existing({ input, signed }: PreparedInput, known: Known): LedgerEvent | undefined {
    if (input.idempotencyKey !== undefined) {
      const hit = known.byKey.get(input.idempotencyKey);
      if (hit) return hit;
    }
    // A signed event's id is fixed by its bytes: appending it again is a retry.
    return signed ? known.byId.get(signed.id.toString('hex')) : undefined;
  }

  /**
   * Whether an input that found its idempotency key used (attacker-controlled) asks for the event
   * that key wrote: the same signed bytes, or the same envelope once given that event's parents and
   * hlc where the input left them to the server.
   */
  private repeats(prepared: PreparedInput, existing: LedgerEvent): boolean {
    if (prepared.signed) return prepared.signed.id.toString('hex') === existing.id;
    const { canonical } = this.unsigned(prepared, false, prepared.input.parents ?? existing.parents, prepared.input.hlc ?? existing.hlc);
    return canonical.equals(existing.canonical);
  }

  /** The bytes and id of an unsigned event, once its parents and hlc are known; one the server writes as its own names the server as author. */
  private unsigned({ input, payloadText }: PreparedInput, asServer: boolean, parents: string[], hlc: Hlc): { canonical: Buffer; id: Buffer; author: string | undefined } {
    const author = asServer ? this.serverSigner!.did : input.author;
    const canonical = canonicalBytes(envelopeOf({ ...input, author }, this.ledger.origin, parents, hlc), payloadText);
    return { canonical, id: this.hasher.leafHash(canonical), author };
  }

  /** An event in its place after the head; one the server writes as its own is signed later, with its batch (signAsServer). */
  private sequenceOne(prepared: PreparedInput, asServer: boolean, state: SequenceState, known: Known, nodes: NewNode[]): LedgerEvent {
    const { input, signed } = prepared;
    // Default parents merge the newest open branches, at most MAX_PARENTS of them at a time.
    const parents = input.parents ?? state.tips.slice(-MAX_PARENTS);
    let parentHlc: Hlc | undefined;
    for (const id of parents) {
      const parent = known.byId.get(id);
      if (!parent) throw new ChainproofError('UNKNOWN_PARENT', `parent ${id} is not in ledger ${this.ledger.name}`);
      if (!parentHlc || compareHlc(parent.hlc, parentHlc) > 0) parentHlc = parent.hlc;
    }
    let hlc: Hlc;
    const now = Date.now();
    if (input.hlc) {
      if (parentHlc && compareHlc(input.hlc, parentHlc) <= 0) {
        throw new ChainproofError('HLC_NOT_AFTER_PARENT', 'hlc must be after every parent\'s hlc');
      }
      hlc = input.hlc;
    } else {
      hlc = nextHlc(now, state.lastHlc, parentHlc);
    }
    // The wall clock, never going back along this process's leaves (asOf.time searches leaf
    // order by it), and never an hlc: a client may stamp one up to the skew ahead.
    const appendedMs = (this.lastAppendedMs = Math.max(now, this.lastAppendedMs));
    let canonical: Buffer;
    let id: Buffer;
    let signature: Buffer | null = null;
    let author = input.author;
    if (signed) {
      ({ canonical, id, signature } = signed);
    } else {
      ({ canonical, id, author } = this.unsigned(prepared, asServer, parents, hlc));
    }
    const idHex = id.toString('hex');
    const duplicate = known.byId.get(idHex);
    if (duplicate) return duplicate;

    const index = state.frontier.size;
    nodes.push(...state.frontier.append(id));
    const parentSet = new Set(parents);
    state.tips = [...state.tips.filter((t) => !parentSet.has(t)), idHex];
    if (compareHlc(hlc, state.lastHlc) > 0) state.lastHlc = hlc;
    return {
      ledger: this.ledger.name,
      origin: prepared.foreignOrigin ?? this.ledger.origin,
      index,
      id: idHex,
      canonical,
      signature: signature ? signature.toString('hex') : null,
      type: input.type,
      actor: input.actor,
      author: author ?? null,
      resource: input.resource ?? null,
      subsystem: input.subsystem ?? null,
      result: input.result ?? null,
      correlationId: input.correlationId ?? null,
      payload: input.payload ?? null,
      parents: [...parents],
      hlc,
      idempotencyKey: input.idempotencyKey ?? null,
      appendedAt: new Date(appendedMs),
    };
  }
}

/**
 * Hybrid logical clock: after the wall clock, the ledger's last HLC and every parent. The last
 * HLC is the highest of every event before, so what the server stamps never goes back along leaf
 * order; reads of query audits by time depend on it (src/provenance/audit-leaves.ts).
 */
export function nextHlc(wallMs: number, last: Hlc, parent: Hlc | undefined): Hlc {
  const floor = parent && compareHlc(parent, last) > 0 ? parent : last;
  if (wallMs > floor.physicalMs) return { physicalMs: wallMs, logical: 0 };
  // A counter at its ceiling (a client may set one) moves the clock on a millisecond instead of overflowing.
  if (floor.logical >= MAX_HLC_LOGICAL) {
    // Unreachable while every HLC taken is within the skew of the clock; a ledger written before that held is refused, never corrupted.
    if (floor.physicalMs >= Number.MAX_SAFE_INTEGER) throw new ChainproofError('INTERNAL', 'the ledger\'s clock is at the largest HLC: no later one can be stamped');
    return { physicalMs: floor.physicalMs + 1, logical: 0 };
  }
  return { physicalMs: floor.physicalMs, logical: floor.logical + 1 };
}

/** How sequencing ahead yields to the event loop: not at all once its transaction waits for it (`hurry`). */
interface Pacing {
  hurry: boolean;
}

/** Everything sequencing a batch produced, ready to write. */
interface Sequenced {
  state: SequenceState;
  known: Known;
  rows: NewEventRow[];
  nodes: NewNode[];
  outcomes: Outcome[];
}

/** A batch taken from the queue and sequenced ahead, from the head the transaction before it leaves (`after`). */
interface Ahead {
  batch: Pending[];
  after: HeadSnapshot;
  work: Promise<Sequenced>;
  pacing: Pacing;
  /** Sequenced just before its own transaction, from the last commit's head, rather than during the one before. */
  fromCommitted?: boolean;
}

/** A head as a commit left it, and the events its tips name. */
interface CommittedHead {
  after: HeadSnapshot;
  tips: LedgerEvent[];
}

/**
 * The head `state` describes with its tips' events, if all are known and at most MAX_PARENTS: a
 * writer opening branches at will must not make the sequencer hold their events.
 */
function committedHead(state: SequenceState, known: Known): CommittedHead | undefined {
  if (state.tips.length > MAX_PARENTS) return undefined;
  const tips = state.tips.map((id) => known.byId.get(id));
  return tips.every((e) => e !== undefined) ? { after: snapshotOf(state), tips: tips as LedgerEvent[] } : undefined;
}

/** The ledger_heads row as a sequence state would write it. */
interface HeadSnapshot {
  size: number;
  frontier: Buffer;
  tips: Buffer;
  lastHlc: Hlc;
}

const snapshotOf = (state: SequenceState): HeadSnapshot => ({
  size: state.frontier.size,
  frontier: state.frontier.toBytes(),
  tips: joinIds(state.tips),
  lastHlc: state.lastHlc,
});

/** The head a ledger_heads row holds. */
const headOfRow = (r: { tree_size: string; frontier: Buffer; tips: Buffer; last_hlc_ms: string; last_hlc_logical: number }): HeadSnapshot => ({
  size: Number(r.tree_size),
  frontier: r.frontier,
  tips: r.tips,
  lastHlc: { physicalMs: Number(r.last_hlc_ms), logical: r.last_hlc_logical },
});

/** A state to sequence from `head` with (its frontier a copy of its own). */
const stateOf = (hasher: TreeHasher, head: HeadSnapshot): SequenceState => ({
  frontier: Frontier.fromBytes(hasher, head.size, head.frontier),
  tips: splitIds(head.tips),
  lastHlc: head.lastHlc,
});

/** What is known ahead of a batch that needs only the head: the tips' events. */
const knownOf = (tips: readonly LedgerEvent[]): Known => ({ byId: new Map(tips.map((e) => [e.id, e])), byKey: new Map() });

/** Whether two heads are exactly the same: then work done from one still holds on the other. */
const sameHead = (a: HeadSnapshot, b: HeadSnapshot): boolean =>
  a.size === b.size && a.frontier.equals(b.frontier) && a.tips.equals(b.tips) &&
  a.lastHlc.physicalMs === b.lastHlc.physicalMs && a.lastHlc.logical === b.lastHlc.logical;

/**
 * Whether sequencing a request needs nothing but the head: no idempotency key or parents to look
 * up, no HLC of its own to check, no fixed bytes (a signed event or a synced copy).
 */
function dependsOnHeadOnly(p: Pending): boolean {
  return p.inputs.every(({ input, signed, ownCopy }) =>
    input.idempotencyKey === undefined && input.parents === undefined && input.hlc === undefined && !signed && !ownCopy);
}

interface SequenceState {
  frontier: Frontier;
  tips: string[];
  lastHlc: Hlc;
}
interface Known {
  byId: Map<string, LedgerEvent>;
  byKey: Map<string, LedgerEvent>;
}
interface Outcome {
  events: LedgerEvent[];
  fresh: LedgerEvent[];
  error?: unknown;
}
interface NewEventRow {
  event: LedgerEvent;
  idempotencyKey: string | undefined;
  foreignOrigin: string | undefined;
  /** The server writes it in its own name: signAsServer signs it before it is written. */
  byServer: boolean;
}

export const EVENT_COLUMNS =
  'idx, id, canonical, signature, type, actor, author, resource, subsystem, result, correlation_id, parents, hlc_ms, hlc_logical, idempotency_key, appended_at, origin';

export interface RawEventRow {
  idx: string;
  id: Buffer;
  canonical: Buffer;
  signature: Buffer | null;
  type: string;
  actor: string;
  author: string | null;
  resource: string | null;
  subsystem: string | null;
  result: string | null;
  correlation_id: string | null;
  parents: Buffer;
  hlc_ms: string;
  hlc_logical: number;
  idempotency_key: string | null;
  appended_at: Date;
  /** NULL for the ledger's own events; a synced copy's first-written origin. */
  origin: string | null;
}

export function eventFromRow(ledgerName: string, r: RawEventRow): LedgerEvent {
  const envelope = JSON.parse(r.canonical.toString('utf8')) as { ledger: string; payload?: unknown };
  return {
    ledger: ledgerName,
    origin: envelope.ledger,
    index: Number(r.idx),
    id: r.id.toString('hex'),
    canonical: r.canonical,
    signature: r.signature ? r.signature.toString('hex') : null,
    type: r.type,
    actor: r.actor,
    author: r.author,
    resource: r.resource,
    subsystem: r.subsystem,
    result: r.result,
    correlationId: r.correlation_id,
    payload: envelope.payload ?? null,
    parents: splitIds(r.parents),
    hlc: { physicalMs: Number(r.hlc_ms), logical: r.hlc_logical },
    idempotencyKey: r.idempotency_key,
    appendedAt: r.appended_at,
  };
}

/** A batch's events, each column one binary array (see binary-array.ts): parameters $2..$18 after the ledger id. */
const INSERT_EVENTS = `INSERT INTO events (ledger_id, idx, id, canonical, signature, type, actor, author, resource, subsystem, result,
    correlation_id, parents, hlc_ms, hlc_logical, idempotency_key, appended_at, origin)
  SELECT $1, r.* FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[],
    $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bigint[], $15::integer[], $16::text[], $17::timestamptz[], $18::text[]) AS r`;

const eventColumns = (rows: NewEventRow[]) => [
  binaryArray('int8', rows, (r) => r.event.index),
  binaryArray('hex', rows, (r) => r.event.id),
  binaryArray('bytea', rows, (r) => r.event.canonical),
  binaryArray('hex', rows, (r) => r.event.signature),
  binaryArray('text', rows, (r) => r.event.type),
  binaryArray('text', rows, (r) => r.event.actor),
  binaryArray('text', rows, (r) => r.event.author),
  binaryArray('text', rows, (r) => r.event.resource),
  binaryArray('text', rows, (r) => r.event.subsystem),
  binaryArray('text', rows, (r) => r.event.result),
  binaryArray('text', rows, (r) => r.event.correlationId),
  binaryArray('hex', rows, (r) => r.event.parents.join('')),
  binaryArray('int8', rows, (r) => r.event.hlc.physicalMs),
  binaryArray('int4', rows, (r) => r.event.hlc.logical),
  binaryArray('text', rows, (r) => r.idempotencyKey),
  binaryArray('timestamptz', rows, (r) => r.event.appendedAt),
  binaryArray('text', rows, (r) => r.foreignOrigin),
];

/** The batch's new tree nodes: parameters $19..$21. */
const INSERT_NODES = `INSERT INTO tree_nodes (ledger_id, level, idx, hash) SELECT $1, n.* FROM unnest($19::smallint[], $20::bigint[], $21::bytea[]) AS n`;

const nodeColumns = (nodes: NewNode[]) => [
  binaryArray('int2', nodes, (n) => n.level),
  binaryArray('int8', nodes, (n) => n.index),
  binaryArray('bytea', nodes, (n) => n.hash),
];
