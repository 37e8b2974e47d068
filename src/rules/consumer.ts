import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { isChainproofError } from '../errors.js';
import type { AppendInput, LedgerEvent } from '../ledger/events/event.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { EVENT_COLUMNS, eventFromRow, type RawEventRow } from '../ledger/sequencer.js';
import { computeAggregates } from './aggregates.js';
import { RULES_SUBSYSTEM, type ContractDefinition, type RulesPayloads } from './events.js';
import { failedFiring, fire, type Firing, type MintInput } from './firing.js';
import { projectRules } from './projector.js';
import { contractRuntime, triggers, type ContractRuntime } from './runtime.js';

const PAGE = 200;
/** Settled positions without a firing are written at most this often (they only save re-evaluation). */
const IDLE_POLL_MS = 1_000;

export interface ConsumerDeps {
  dataSource: DataSource;
  ledger: LedgerService;
  ledgerName: string;
  mint: MintInput;
  /** Projects the governance events (mints) among a firing's events, in its transaction. */
  projectOther: (tx: EntityManager, events: readonly LedgerEvent[]) => Promise<void>;
  log: Logger;
}

/**
 * Evaluates active contracts on every committed event of one ledger, in ledger order. All
 * firings for one trigger are one append, whose projection moves the durable cursor to that
 * trigger under the ledger's head lock: a firing is written exactly once, across crashes and
 * processes. Contracts are learnt from the stream itself, so each applies from the event after
 * its creation (or activation) — the same on every process and on every run.
 */
export class RulesConsumer {
  private contracts = new Map<string, ContractRuntime>();
  private position = -1;
  private ledgerId = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private unlisten: (() => void) | undefined;
  private persisted = -1;

  constructor(private readonly d: ConsumerDeps) {}

  async start(): Promise<void> {
    this.ledgerId = (await this.d.ledger.ledger(this.d.ledgerName)).id;
    await this.resync();
    this.unlisten = this.d.ledger.bus.listen('event', this.d.ledgerName, () => this.wake?.());
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
    const rows: Array<{ id: string; idx: string; definition: ContractDefinition & { active: boolean }; active_then: boolean | null }> = await this.d.dataSource.query(
      `SELECT c.id, c.idx, c.definition,
              (SELECT active FROM rules_contract_changes h WHERE h.contract_id = c.id AND h.idx <= $1 ORDER BY h.idx DESC LIMIT 1) AS active_then
         FROM rules_contracts c WHERE c.idx <= $1 ORDER BY c.idx`,
      [this.position],
    );
    this.contracts = new Map();
    for (const r of rows) this.learnContract(r.id, Number(r.idx), r.definition, r.active_then ?? r.definition.active);
  }

  private learnContract(id: string, index: number, def: ContractDefinition, active: boolean): void {
    try {
      this.contracts.set(id, contractRuntime(id, index, def, active));
    } catch (err) {
      // Checked at creation; only a changed evaluator could refuse it now.
      this.d.log.error({ err, contract: id }, 'a recorded contract no longer compiles; it is skipped');
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const page = await this.page();
        if (page.length === 0) {
          await this.persistPosition();
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, IDLE_POLL_MS);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          continue;
        }
        for (const { event, depth } of page) {
          if (this.stopped) break;
          await this.process(event, depth);
        }
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Settled) continue;
        this.d.log.warn({ err }, 'rules consumer failed; it resumes from its cursor');
        await new Promise((r) => setTimeout(r, 500));
        await this.resync().catch(() => undefined);
      }
    }
    await this.persistPosition().catch(() => undefined);
  }

  private async page(): Promise<Array<{ event: LedgerEvent; depth: number }>> {
    const rows: Array<RawEventRow & { depth: number | null }> = await this.d.dataSource.query(
      `SELECT ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}, d.depth
         FROM events e LEFT JOIN rules_derived d ON d.idx = e.idx
        WHERE e.ledger_id = $1 AND e.idx > $2 ORDER BY e.idx LIMIT ${PAGE}`,
      [this.ledgerId, this.position],
    );
    return rows.map((r) => ({ event: eventFromRow(this.d.ledgerName, r), depth: r.depth ?? 0 }));
  }

  private async process(e: LedgerEvent, depth: number): Promise<void> {
    if (e.subsystem === RULES_SUBSYSTEM) {
      // Its own events never trigger contracts (no loops through them); contract changes are learnt here.
      this.learn(e);
      this.position = e.index;
      return;
    }
    const firings: Array<{ c: ContractRuntime; f: Firing }> = [];
    for (const c of this.contracts.values()) {
      if (!triggers(c, e) || (await this.capped(c, e))) continue;
      const values = c.aggregates.length ? await computeAggregates(this.d.dataSource, this.ledgerId, e, c.aggregates) : new Map<string, number>();
      const f = fire(c, e, depth, values, this.d.mint);
      if (f) firings.push({ c, f });
    }
    if (firings.length > 0) await this.settle(e, depth, firings);
    this.position = e.index;
  }

  /** Appends every firing of one trigger with the cursor move; a refused append is recorded as failed firings. */
  private async settle(e: LedgerEvent, depth: number, firings: Array<{ c: ContractRuntime; f: Firing }>): Promise<void> {
    const attempt = (inputs: AppendInput[]) => this.d.ledger.append(this.d.ledgerName, inputs, {
      asServer: true,
      projection: async (tx, events) => {
        await projectRules(tx, events, { ledgerId: this.ledgerId, triggerIndex: e.index, depth: depth + 1 });
        await this.d.projectOther(tx, events);
      },
    });
    try {
      await attempt(firings.flatMap(({ f }) => f.inputs));
    } catch (err) {
      if (isChainproofError(err) && err.code === 'CONFLICT' && /rules cursor/.test(err.message)) {
        // Another process settled this trigger (or more): take up from where the cursor is.
        await this.resync();
        throw new Settled();
      }
      if (!isChainproofError(err)) throw err;
      this.d.log.warn({ err, trigger: e.index }, 'a firing was refused; it is recorded as failed');
      await attempt(firings.map(({ c }) => failedFiring(c, e, depth, err.message).inputs).flat());
    }
    this.persisted = e.index;
  }

  /** The reward-farming guard: at most `maxFiringsPerActor` firings per trigger actor in the window. */
  private async capped(c: ContractRuntime, e: LedgerEvent): Promise<boolean> {
    const cap = c.def.limits.maxFiringsPerActor;
    if (cap === null) return false;
    const [row] = await this.d.dataSource.query(
      `SELECT count(*) AS n FROM rules_executions WHERE contract_id = $1 AND trigger_actor = $2 AND trigger_ms > $3 AND trigger_idx < $4 AND ok`,
      [c.id, e.actor, e.hlc.physicalMs - c.def.limits.windowSeconds * 1000, e.index],
    );
    return Number(row.n) >= cap;
  }

  private learn(e: LedgerEvent): void {
    if (e.type === 'ContractCreated') {
      const p = e.payload as RulesPayloads['ContractCreated'];
      this.learnContract(e.id, e.index, p, p.active);
    } else if (e.type === 'ContractActiveSet') {
      const p = e.payload as RulesPayloads['ContractActiveSet'];
      const c = this.contracts.get(p.contractId);
      if (c) c.active = p.active;
    }
  }

  /** Saves re-evaluating settled events after a restart; correctness never depends on it. */
  private async persistPosition(): Promise<void> {
    if (this.position <= this.persisted) return;
    await this.d.dataSource.query(
      `INSERT INTO rules_cursor (ledger_id, position) VALUES ($1, $2)
       ON CONFLICT (ledger_id) DO UPDATE SET position = greatest(rules_cursor.position, EXCLUDED.position)`,
      [this.ledgerId, this.position],
    );
    this.persisted = this.position;
  }
}

/** Thrown out of a page when another process settled the trigger: the loop re-reads from the resynced cursor. */
class Settled extends Error {}
