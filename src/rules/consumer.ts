import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { driverPool } from '../db/driver-pool.js';
import { isChainproofError } from '../errors.js';
import type { Envelope } from '../ledger/events/envelope.js';
import type { AppendInput, LedgerEvent } from '../ledger/events/event.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { RULES_SUBSYSTEM, type ContractDefinition } from './events.js';
import { GOVERNANCE_SUBSYSTEM, type GovernancePayloads } from '../governance/events.js';
import { addContract, Contracts, evaluateNow, evaluateTrigger, learn } from './evaluate.js';
import { failedFiring, type ActionEffects, type Firing } from './firing.js';
import { projectRules } from './projector.js';
import type { ContractRuntime, RuleEvent } from './runtime.js';

/**
 * Events read at once: pages keep round trips off the per-event cost, but the rows of the pages
 * read ahead outlive young-generation collections, which copy them; 2,000 cost less CPU here
 * than 5,000 (and the database about the same).
 */
const PAGE = 2_000;
/** Pages requested ahead of the one being evaluated. */
const READ_AHEAD = 2;
/** A batch spans pages while they are full, and is written once it is this old: a backlog is settled in few appends. */
const MAX_BATCH_MS = 250;
/** Events evaluated between turns of the event loop. */
const YIELD_EVERY = 250;
/** How long an idle consumer sleeps when no commit wakes it. */
const IDLE_POLL_MS = 1_000;
/**
 * Settled positions without a firing are written at most this often: each write is a commit of
 * its own, and on a busy ledger the consumer went idle after every commit, so a burst of
 * one-event appends paid one more commit each. They only save re-evaluation after a restart.
 */
const PERSIST_EVERY_MS = 200;

export interface ConsumerDeps {
  dataSource: DataSource;
  ledger: LedgerService;
  ledgerName: string;
  effects: ActionEffects;
  /** The most events one append may carry (CHAINPROOF_MAX_BATCH): a batch is written before it would exceed it. */
  maxBatch: number;
  /** Projects the governance events (mints, parameter changes, proposals) among a firing's events, in its transaction. */
  projectOther: (tx: EntityManager, events: readonly LedgerEvent[]) => Promise<void>;
  log: Logger;
  /** How long an idle consumer sleeps when no commit wakes it (IDLE_POLL_MS). */
  idlePollMs?: number;
}

/**
 * One row of a page, as an array (no object per row) with one text per event, so that a page
 * read ahead is few objects (fewer fields for the driver to cut out, less for the young
 * generation to copy): where some contract could use the event, its id in hex followed by its
 * canonical envelope (parsed once here: the database only converts it, which costs it a fraction
 * of extracting the payload); otherwise a space and its type; '' for a copy synced from another
 * node. A dense page's rows are in index order from the one after the cursor, and its first row
 * also brings the page's last index (to check that order) and the depths of its derived events;
 * an idle page's rows bring their index.
 */
type Row = [text: string, idxOrLast: string | null, depths?: string | null];
const TEXT = 0;
const IDX = 1;
const DEPTHS = 2;
const ID_HEX = 64;
/** A page: its rows, where they start (or each one's index, idle), and the causal depth of those the consumer wrote (absent: 0). */
interface Page {
  rows: Row[];
  first: number;
  indexed: boolean;
  depths: Map<number, number>;
}
/** Firings of consecutive triggers, written by one append that also moves the cursor past them. */
interface Batch {
  started: number;
  firstTrigger: number;
  /** The last event evaluated for it: where the cursor moves. */
  to: number;
  firings: Array<{ trigger: RuleEvent; depth: number; c: ContractRuntime; f: Firing }>;
  inputs: number;
}

/**
 * Evaluates active contracts on every committed event of one ledger, in ledger order. The
 * firings of many consecutive triggers are one append, whose projection moves the durable
 * cursor past them under the ledger's head lock, refusing the append if another process got
 * there first: a firing is written exactly once, across crashes and processes. Contracts are
 * learnt from the stream itself, so each applies from the event after its creation (or
 * activation) — the same on every process and on every run, however the firings are batched.
 */
export class RulesConsumer {
  private contracts = new Contracts();
  /** Event types some contract triggers on: only their rows bring their fields in a page. */
  private types: string[] = [];
  private position = -1;
  private ledgerId = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** An event was committed since the loop last found nothing to read: including by this consumer's own write. */
  private committedSinceEmpty = false;
  private unlisten: (() => void) | undefined;
  private persisted = -1;
  /** When (performance.now()) persistPosition last wrote. */
  private persistedAt = -Infinity;
  /** The pages after the one being processed, already requested: reading them overlaps evaluating this one. */
  private ahead: Array<{ after: number; page: Promise<Page> }> = [];
  /** After a refused batch, the triggers up to here are settled one by one, so a refusal fails only its own trigger's firings. */
  private singleUntil = -1;
  /** A refused batch ending here: set by its settle, acted on by the loop (which alone resyncs). */
  private refusedUntil = -1;
  /**
   * The batch being written while the next events are evaluated. A batch is only written after
   * the one before it committed, and a failure discards everything evaluated since.
   */
  private inflight: Promise<void> | undefined;
  /** Firings evaluated and not yet being written: the position is past their triggers, the cursor is not. */
  private batch: Batch | undefined;

  constructor(private readonly d: ConsumerDeps) {}

  async start(): Promise<void> {
    this.ledgerId = (await this.d.ledger.ledger(this.d.ledgerName)).id;
    await this.resync();
    this.unlisten = this.d.ledger.onCommit(this.d.ledgerName, () => {
      this.committedSinceEmpty = true;
      this.wake?.();
    });
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    this.wake?.();
    await this.running;
  }

  /** Where the committed cursor is, and the contracts as they stood there. */
  private async resync(): Promise<void> {
    const [row] = await this.d.dataSource.query(`SELECT position FROM rules_cursor WHERE ledger_id = $1`, [this.ledgerId]);
    this.position = row ? Number(row.position) : -1;
    this.persisted = this.position;
    this.ahead = [];
    this.batch = undefined;
    // The definition as created, with the activation and parameters that applied at the cursor.
    const rows: Array<{ id: string; idx: string; created: ContractDefinition & { active: boolean }; active_then: boolean | null; params_then: Record<string, unknown> | null }> = await this.d.dataSource.query(
      `SELECT c.id, c.idx, convert_from(e.canonical, 'UTF8')::jsonb->'payload' AS created,
              (SELECT active FROM rules_contract_changes h WHERE h.contract_id = c.id AND h.idx <= $1 ORDER BY h.idx DESC LIMIT 1) AS active_then,
              (SELECT parameters FROM rules_contract_params h WHERE h.contract_id = c.id AND h.idx <= $1 ORDER BY h.idx DESC LIMIT 1) AS params_then
         FROM rules_contracts c JOIN events e ON e.ledger_id = $2 AND e.idx = c.idx WHERE c.idx <= $1 ORDER BY c.idx`,
      [this.position, this.ledgerId],
    );
    this.contracts = new Contracts();
    for (const r of rows) {
      const def = r.params_then ? { ...r.created, parameters: r.params_then } : r.created;
      addContract(this.contracts, r.id, Number(r.idx), def, r.active_then ?? r.created.active, this.compileError);
    }
    this.types = this.contracts.types();
  }

  private readonly compileError = (err: unknown) => this.d.log.error({ err }, 'a recorded contract no longer compiles; it is skipped');

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        this.committedSinceEmpty = false;
        const { page, fresh } = await this.page();
        if (page.rows.length > 0) {
          await this.processPage(page);
          // A dense page short of full, read since the last look at commits, held everything committed
          // before it: unless a commit came since, the read that would find nothing more is spared
          // (on a busy ledger, one statement per commit).
          if (this.stopped || this.committedSinceEmpty || !fresh || page.indexed || page.rows.length >= PAGE) continue;
        }
        if (this.batch) await this.write(this.takeBatch());
        await this.drain();
        const idlePollMs = this.d.idlePollMs ?? IDLE_POLL_MS;
        for (let unwrittenFor = await this.persistPosition(); ;) {
          // Events committed while this page was read or the batch written (its own firings, say) woke
          // nobody: read again now rather than a poll interval later.
          if (this.committedSinceEmpty || this.stopped) break;
          const timedOut = await this.sleep(Math.min(idlePollMs, unwrittenFor));
          // Woken by a commit, or a poll is due; else the settled position may be written now, without a read.
          if (!timedOut || unwrittenFor >= idlePollMs) break;
          unwrittenFor = await this.persistPosition();
        }
      } catch (err) {
        await this.inflight?.catch(() => undefined);
        this.inflight = undefined;
        if (this.stopped) {
          // Firings evaluated since the cursor were not written: the next start evaluates them again.
          this.batch = undefined;
          this.position = this.persisted;
          break;
        }
        if (err instanceof Settled) {
          // Another process settled these triggers, or a batch was refused: evaluate again from the cursor.
          if (this.refusedUntil >= 0) this.singleUntil = this.refusedUntil;
          this.refusedUntil = -1;
          await this.resync().catch(() => undefined);
          continue;
        }
        this.d.log.warn({ err }, 'rules consumer failed; it resumes from its cursor');
        await new Promise((r) => setTimeout(r, 500));
        await this.resync().catch(() => undefined);
      }
    }
    try {
      if (this.batch) await this.write(this.takeBatch());
      await this.drain();
      await this.persistPosition(true);
    } catch {
      /* the next start resumes from the cursor */
    }
  }

  /** Until a commit wakes the consumer (false) or `ms` pass (true). */
  private sleep(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
  }

  /** Waits for the batch being written; its failure is thrown here, to the loop. */
  private async drain(): Promise<void> {
    const p = this.inflight;
    this.inflight = undefined;
    await p;
  }

  private takeBatch(): Batch {
    const batch = this.batch!;
    this.batch = undefined;
    batch.to = this.position;
    return batch;
  }

  /** Starts writing a batch once the one before it has committed. */
  private async write(batch: Batch): Promise<void> {
    await this.drain();
    const p = this.settle(batch);
    p.catch(() => undefined); // rethrown by the next drain
    this.inflight = p;
  }

  /**
   * The next events after the position. Only events of a type some contract triggers on (and
   * the engine's own) bring their payload; with no contracts at all, only the engine's own
   * events are read, up to the head. After a full page, the next READ_AHEAD pages are requested
   * at once: indices are dense, so where each starts is known. A page read ahead holds what was
   * committed when it was read, which is all that precedes any later commit (commits follow the
   * index order), so a partial one is still a correct page; an empty one is read again.
   */
  private async page(): Promise<{ page: Page; fresh: boolean }> {
    const idle = this.contracts.size === 0;
    let page: Page | undefined;
    const first = this.ahead[0];
    if (first?.after === this.position && !idle) {
      this.ahead.shift();
      page = await first.page;
      if (page.rows.length === 0) page = undefined;
    }
    // Read ahead, a page may predate the loop's last look at commits.
    const fresh = !page;
    if (!page) {
      this.ahead = [];
      const head = idle ? Number((await this.d.dataSource.query(`SELECT tree_size FROM ledger_heads WHERE ledger_id = $1`, [this.ledgerId]))[0].tree_size) : 0;
      page = await this.read(this.position, idle ? head : undefined);
      if (idle && page.rows.length === 0 && head - 1 > this.position) this.position = head - 1;
    }
    if (page.rows.length < PAGE || idle) {
      this.ahead = [];
      return { page, fresh };
    }
    for (let after = this.ahead.at(-1)?.after ?? this.position; this.ahead.length < READ_AHEAD;) {
      after += PAGE;
      const next = this.read(after);
      next.catch(() => undefined); // a failed read ahead is read again when its turn comes
      this.ahead.push({ after, page: next });
    }
    return { page, fresh };
  }

  private get pool() {
    return driverPool(this.d.dataSource);
  }

  /**
   * Leaf indices are dense, so a page is an index range: the plan never depends on table
   * statistics (a freshly filled table has none). Idle, only the engine's own events up to the
   * head are read. Rows come as arrays through the driver's pool (see Row); what the first row
   * brings is read once by the same statement, so it is of the same snapshot as the rows.
   */
  private async read(after: number, idleBelow?: number): Promise<Page> {
    const idle = idleBelow !== undefined;
    const { rows } = await this.pool.query<Row>({
      text: `SELECT CASE WHEN e.origin IS NOT NULL THEN ''
                    WHEN e.subsystem = '${RULES_SUBSYSTEM}' OR e.type = ANY($3::text[]) THEN encode(e.id, 'hex') || convert_from(e.canonical, 'UTF8')
                    ELSE ' ' || e.type END,
               ${idle ? 'e.idx' : `CASE WHEN e.idx = $2 + 1 THEN (SELECT max(l.idx) FROM events l WHERE l.ledger_id = $1 AND l.idx > $2 AND l.idx <= $2 + ${PAGE}) END,
               CASE WHEN e.idx = $2 + 1 THEN (SELECT coalesce(string_agg(d.idx || ':' || d.depth, ','), '') FROM rules_derived d WHERE d.idx > $2 AND d.idx <= $2 + ${PAGE}) END`}
         FROM events e
        WHERE e.ledger_id = $1 AND e.idx > $2
          ${idle ? `AND e.subsystem = '${RULES_SUBSYSTEM}' AND e.idx < $4 ORDER BY e.idx LIMIT ${PAGE}` : `AND e.idx <= $2 + ${PAGE} ORDER BY e.idx`}`,
      values: idle ? [this.ledgerId, after, this.types, idleBelow] : [this.ledgerId, after, this.types],
      rowMode: 'array',
    });
    const depths = new Map<number, number>();
    // The engine's own events never trigger: idle, no depth is needed.
    if (idle || rows.length === 0) return { rows, first: after + 1, indexed: idle, depths };
    const { [IDX]: last, [DEPTHS]: list } = rows[0]!;
    // Indices are dense: a page that has rows starts right after `after` and ends `rows.length` later.
    if (typeof list !== 'string' || Number(last) !== after + rows.length) throw new Error(`page after ${after} is not the dense range it should be`);
    for (const item of list === '' ? [] : list.split(',')) {
      const colon = item.indexOf(':');
      depths.set(Number(item.slice(0, colon)), Number(item.slice(colon + 1)));
    }
    return { rows, first: after + 1, indexed: false, depths };
  }

  private async processPage(page: Page): Promise<void> {
    const { rows, depths } = page;
    for (let i = 0; i < rows.length; i++) {
      if (this.stopped) break;
      // Evaluation resolves synchronously: without a turn of the event loop, the batch being written
      // (and the page being read ahead) would wait for the whole page.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((r) => setImmediate(r));
      const r = rows[i]!;
      const index = page.indexed ? Number(r[IDX]) : page.first + i;
      let text = r[TEXT];
      if (text.length === 0) {
        this.position = index;
        continue;
      }
      if (text.charCodeAt(0) === 32) {
        // Read without its envelope: unless a contract learnt in this page triggers on its type, nothing to do.
        if (!this.contracts.candidates(text.slice(1))) {
          this.position = index;
          continue;
        }
        await this.fillEnvelopes(page, i);
        text = r[TEXT];
      }
      const e = toEvent(JSON.parse(text.slice(ID_HEX)) as Envelope, index, text.slice(0, ID_HEX));
      if (e.subsystem === RULES_SUBSYSTEM) {
        // Its own events never trigger contracts (no loops through them); contract changes are learnt here.
        learn(this.contracts, e, this.compileError);
        if (e.type === 'ContractCreated') {
          this.types = this.contracts.types();
          this.ahead = []; // read with the old types
        }
        this.position = index;
        // An idle page has only the engine's own events: the events after a contract learnt from it are read next.
        if (page.indexed && this.contracts.size > 0) break;
        continue;
      }
      const candidates = this.contracts.candidates(e.type);
      if (candidates) {
        // Per-actor caps count written firings: those being written must be in first.
        if (this.inflight && candidates.some((c) => c.def.limits.maxFiringsPerActor !== null)) await this.drain();
        const depth = depths.get(index) ?? 0;
        const firings = this.contracts.reads(candidates)
          ? await evaluateTrigger(this.d.dataSource, this.ledgerId, candidates, e, depth, this.d.effects, this.batch && pendingIn(this.batch))
          : evaluateNow(candidates, e, depth, this.d.effects);
        let inputs = 0;
        for (const { f } of firings) inputs += f.inputs.length;
        // A trigger's firings stay in one append (its cursor move settles them together): write what came before first.
        if (this.batch && this.batch.inputs + inputs > this.d.maxBatch) await this.write(this.takeBatch());
        if (firings.length > 0) {
          const batch = (this.batch ??= { started: performance.now(), firstTrigger: index, to: index, firings: [], inputs: 0 });
          for (const { c, f } of firings) {
            batch.firings.push({ trigger: e, depth, c, f });
            batch.inputs += f.inputs.length;
          }
        }
      }
      this.position = index;
      if (this.batch && index <= this.singleUntil) await this.write(this.takeBatch());
    }
    // Caught up (or the batch is old enough): write it now, so a firing follows its trigger within one turn.
    if (this.batch && (rows.length < PAGE || this.stopped || performance.now() - this.batch.started > MAX_BATCH_MS)) await this.write(this.takeBatch());
  }

  /** Reads the envelopes (and depths) of the rows from `from` on that were read before a contract on their type was learnt. */
  private async fillEnvelopes(page: Page, from: number): Promise<void> {
    const missing = new Map<number, Row>();
    for (let i = from; i < page.rows.length; i++) {
      const r = page.rows[i]!;
      if (r[TEXT].charCodeAt(0) === 32 && this.contracts.candidates(r[TEXT].slice(1))) missing.set(page.indexed ? Number(r[IDX]) : page.first + i, r);
    }
    const found = await this.pool.query<[string, string, number | null]>({
      text: `SELECT e.idx, encode(e.id, 'hex') || convert_from(e.canonical, 'UTF8'), (SELECT depth FROM rules_derived d WHERE d.idx = e.idx)
               FROM events e WHERE e.ledger_id = $1 AND e.idx = ANY($2::bigint[])`,
      values: [this.ledgerId, [...missing.keys()]],
      rowMode: 'array',
    });
    for (const [idx, text, depth] of found.rows) {
      missing.get(Number(idx))![TEXT] = text;
      if (depth !== null) page.depths.set(Number(idx), depth);
    }
  }

  /** Appends a batch with the cursor move; a refused append is retried trigger by trigger, a refused trigger recorded as failed firings. */
  private async settle(batch: Batch): Promise<void> {
    const attempt = (firings: Batch['firings']) => {
      const inputs: AppendInput[] = [];
      const depths: number[] = [];
      for (const { f, depth } of firings) {
        for (const i of f.inputs) {
          inputs.push(i);
          depths.push(depth + 1);
        }
      }
      return this.d.ledger.append(this.d.ledgerName, inputs, {
        asServer: true,
        projection: async (tx, events) => {
          await projectRules(tx, events, { ledgerId: this.ledgerId, firstTrigger: batch.firstTrigger, to: batch.to, depths });
          await this.d.projectOther(tx, events);
        },
      });
    };
    try {
      await this.parametersChanged(await attempt(batch.firings));
    } catch (err) {
      // Another process settled these triggers (or more): take up from where the cursor is.
      if (isChainproofError(err) && err.code === 'CONFLICT' && /rules cursor/.test(err.message)) throw new Settled();
      if (!isChainproofError(err)) throw err;
      const triggers = new Set(batch.firings.map((x) => x.trigger.index));
      if (triggers.size > 1) {
        // One refused firing must not fail the others: evaluate the batch again, settling each trigger alone.
        this.refusedUntil = batch.to;
        throw new Settled();
      }
      const [{ trigger, depth }] = batch.firings;
      this.d.log.warn({ err, trigger: trigger.index }, 'a firing was refused; it is recorded as failed');
      await attempt(batch.firings.map((x) => ({ ...x, f: failedFiring(x.c, trigger, depth, err.message) })));
    }
    this.persisted = Math.max(this.persisted, batch.to);
  }

  /** A committed parameter change takes effect as an executed proposal's does. */
  private async parametersChanged(events: readonly LedgerEvent[]): Promise<void> {
    for (const e of events) {
      if (e.subsystem !== GOVERNANCE_SUBSYSTEM || e.type !== 'LedgerParameterSet') continue;
      const p = e.payload as GovernancePayloads['LedgerParameterSet'];
      if (p.name !== 'miningReward') await this.d.ledger.parametersChanged(p.ledger).catch((err) => this.d.log.warn({ err }, 'a changed parameter could not be reloaded'));
    }
  }

  /**
   * Saves re-evaluating settled events after a restart; correctness never depends on it. Writes
   * at most every PERSIST_EVERY_MS unless `now`: returns how long until a position left unwritten
   * may be written (Infinity when none is).
   */
  private async persistPosition(now = false): Promise<number> {
    if (this.position <= this.persisted || this.batch) return Infinity;
    const wait = this.persistedAt + PERSIST_EVERY_MS - performance.now();
    if (wait > 0 && !now) return wait;
    await this.d.dataSource.query(
      `INSERT INTO rules_cursor (ledger_id, position) VALUES ($1, $2)
       ON CONFLICT (ledger_id) DO UPDATE SET position = greatest(rules_cursor.position, EXCLUDED.position)`,
      [this.ledgerId, this.position],
    );
    this.persisted = this.position;
    this.persistedAt = performance.now();
    return Infinity;
  }
}

function toEvent(v: Envelope, index: number, id: string): RuleEvent {
  return {
    id, index, type: v.type, actor: v.actor, author: v.author ?? null, resource: v.resource ?? null, subsystem: v.subsystem ?? null,
    result: v.result ?? null, payload: v.payload ?? null, hlc: v.hlc,
  };
}

/** The successful firings of a contract in a batch by one actor since a time: the per-actor cap counts them. */
function pendingIn(batch: Batch) {
  return (c: ContractRuntime, actor: string, sinceMs: number) => {
    let n = 0;
    for (const x of batch.firings) {
      if (x.c.id === c.id && x.trigger.actor === actor && x.trigger.hlc.physicalMs > sinceMs && (x.f.inputs[0]!.payload as { ok: boolean }).ok) n++;
    }
    return n;
  };
}

/** Thrown when another process settled the triggers or a batch was refused: the loop resyncs and re-reads from the cursor. */
class Settled extends Error {}
