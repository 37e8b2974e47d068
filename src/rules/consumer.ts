import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { isChainproofError } from '../errors.js';
import type { AppendInput, LedgerEvent } from '../ledger/events/event.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { EVENT_COLUMNS, eventFromRow, type RawEventRow } from '../ledger/sequencer.js';
import { RULES_SUBSYSTEM, type ContractDefinition } from './events.js';
import { GOVERNANCE_SUBSYSTEM, type GovernancePayloads } from '../governance/events.js';
import { addContract, evaluateTrigger, learn, type Contracts } from './evaluate.js';
import { failedFiring, type Firing, type ActionEffects } from './firing.js';
import { projectRules } from './projector.js';
import type { ContractRuntime } from './runtime.js';

const PAGE = 200;
/** Settled positions without a firing are written at most this often (they only save re-evaluation). */
const IDLE_POLL_MS = 1_000;

export interface ConsumerDeps {
  dataSource: DataSource;
  ledger: LedgerService;
  ledgerName: string;
  effects: ActionEffects;
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
  private contracts: Contracts = new Map();
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
    // The definition as created, with the activation and parameters that applied at the cursor.
    const rows: Array<{ id: string; idx: string; created: ContractDefinition & { active: boolean }; active_then: boolean | null; params_then: Record<string, unknown> | null }> = await this.d.dataSource.query(
      `SELECT c.id, c.idx, convert_from(e.canonical, 'UTF8')::jsonb->'payload' AS created,
              (SELECT active FROM rules_contract_changes h WHERE h.contract_id = c.id AND h.idx <= $1 ORDER BY h.idx DESC LIMIT 1) AS active_then,
              (SELECT parameters FROM rules_contract_params h WHERE h.contract_id = c.id AND h.idx <= $1 ORDER BY h.idx DESC LIMIT 1) AS params_then
         FROM rules_contracts c JOIN events e ON e.ledger_id = $2 AND e.idx = c.idx WHERE c.idx <= $1 ORDER BY c.idx`,
      [this.position, this.ledgerId],
    );
    this.contracts = new Map();
    for (const r of rows) {
      const def = r.params_then ? { ...r.created, parameters: r.params_then } : r.created;
      addContract(this.contracts, r.id, Number(r.idx), def, r.active_then ?? r.created.active, this.compileError);
    }
  }

  private readonly compileError = (err: unknown) => this.d.log.error({ err }, 'a recorded contract no longer compiles; it is skipped');

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
    // With no contracts only contract events matter: skip to the head reading just those.
    const idle = this.contracts.size === 0;
    const head = idle ? Number((await this.d.dataSource.query(`SELECT tree_size FROM ledger_heads WHERE ledger_id = $1`, [this.ledgerId]))[0].tree_size) : 0;
    const rows: Array<RawEventRow & { depth: number | null }> = await this.d.dataSource.query(
      `SELECT ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}, d.depth
         FROM events e LEFT JOIN rules_derived d ON d.idx = e.idx
        WHERE e.ledger_id = $1 AND e.idx > $2 ${idle ? `AND e.subsystem = '${RULES_SUBSYSTEM}' AND e.idx < $3` : ''}
        ORDER BY e.idx LIMIT ${PAGE}`,
      idle ? [this.ledgerId, this.position, head] : [this.ledgerId, this.position],
    );
    if (idle && rows.length === 0 && head - 1 > this.position) this.position = head - 1;
    return rows.map((r) => ({ event: eventFromRow(this.d.ledgerName, r), depth: r.depth ?? 0 }));
  }

  private async process(e: LedgerEvent, depth: number): Promise<void> {
    if (e.subsystem === RULES_SUBSYSTEM) {
      // Its own events never trigger contracts (no loops through them); contract changes are learnt here.
      learn(this.contracts, e, this.compileError);
      this.position = e.index;
      return;
    }
    const firings = await evaluateTrigger(this.d.dataSource, this.ledgerId, this.contracts, e, depth, this.d.effects);
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
      const written = await attempt(firings.flatMap(({ f }) => f.inputs));
      await this.parametersChanged(written);
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

  /** A committed parameter change takes effect as an executed proposal's does. */
  private async parametersChanged(events: readonly LedgerEvent[]): Promise<void> {
    for (const e of events) {
      if (e.subsystem !== GOVERNANCE_SUBSYSTEM || e.type !== 'LedgerParameterSet') continue;
      const p = e.payload as GovernancePayloads['LedgerParameterSet'];
      if (p.name !== 'miningReward') await this.d.ledger.parametersChanged(p.ledger).catch((err) => this.d.log.warn({ err }, 'a changed parameter could not be reloaded'));
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
