import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { ChainproofError } from '../errors.js';
import { isHexId } from '../ledger/events/envelope.js';
import type { GovernanceService } from '../governance/governance-service.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { encodeCursor, forwardPage, type Page, type PageArgs } from '../ledger/pagination.js';
import { checkContract, checkParameters, type CreateContractInput } from './contract-input.js';
import { BUILTIN_CONTRACTS } from './builtins.js';
import { RulesConsumer } from './consumer.js';
import { RULES_ACTOR, RULES_SUBSYSTEM, type ContractDefinition, type RulesEventType, type RulesPayloads } from './events.js';
import { projectRules } from './projector.js';
import { ruleProposalActions } from './proposal-actions.js';
import type { ActionEffects } from './firing.js';
import { replayRules, type RulesReplayReport } from './replay.js';

/** Default page sizes of the rules' connections, by GraphQL field (the cost limit counts them too). */
export const RULES_PAGES = { contracts: 50, executions: 50 } as const;
/** Contracts run on the main ledger, beside governance, whose tokens they mint. */
export const RULES_LEDGER = 'main';
/** The rules events an admin or a proposal writes; the consumer writes the others. */
const CONTRACT_CHANGES: RulesEventType[] = ['ContractCreated', 'ContractActiveSet', 'ContractParametersSet'];

export interface ContractView {
  id: string;
  index: number;
  name: string;
  description: string;
  active: boolean;
  createdBy: string;
  createdAt: Date;
  definition: ContractDefinition;
}

export interface ExecutionView {
  index: number;
  eventId: string;
  contractId: string;
  triggerId: string;
  triggerIndex: number;
  ok: boolean;
  error: string | null;
  record: RulesPayloads['ContractExecuted'];
}

/**
 * Contracts ("smart-contract rules"): every change is a server-signed `rules` event with its
 * projection in the same transaction; `startConsumer` runs them on the ledger.
 */
export class RulesService {
  private consumer: RulesConsumer | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly governance: GovernanceService,
    private readonly authority: 'admin' | 'proposal' = 'admin',
    /** CHAINPROOF_MAX_BATCH: the consumer's appends stay within it. */
    private readonly maxBatch = 1_000,
  ) {}

  start(): void {
    this.ledger.reserveSubsystem(RULES_SUBSYSTEM);
    this.governance.useRuleActions(ruleProposalActions);
    this.governance.exemptFromProposalThreshold(RULES_ACTOR);
    this.governance.useDerivedEvents({ causes: (ledgerId, indices) => this.causes(ledgerId, indices) });
  }

  /**
   * What the consumer wrote among `indices`, each with the index of the trigger it fired on. A
   * firing is one run of consecutive events of one append, its ContractExecuted (projected with
   * the trigger) first: an event's firing is the nearest execution at or before it. The
   * consumer's events are its own subsystem's, except contract changes, and those it marked
   * in `rules_derived`; copies synced from other nodes were not written here.
   */
  private async causes(ledgerId: number, indices: readonly number[]): Promise<Map<number, number>> {
    if (ledgerId !== (await this.ledger.ledger(RULES_LEDGER)).id) return new Map();
    const rows: Array<{ idx: string; cause: string | null }> = await this.dataSource.query(
      `SELECT e.idx, (SELECT x.trigger_idx FROM rules_executions x WHERE x.idx <= e.idx ORDER BY x.idx DESC LIMIT 1) AS cause
         FROM events e
        WHERE e.ledger_id = $1 AND e.idx = ANY($2::bigint[]) AND e.origin IS NULL
          AND ((e.subsystem = $3 AND e.type <> ALL($4::text[])) OR EXISTS (SELECT 1 FROM rules_derived d WHERE d.idx = e.idx))`,
      [ledgerId, indices, RULES_SUBSYSTEM, CONTRACT_CHANGES],
    );
    return new Map(rows.filter((r) => r.cause !== null).map((r) => [Number(r.idx), Number(r.cause)]));
  }

  private readonly effects: ActionEffects = {
    mint: (actor, to, amount, reason, source) => this.governance.mintInput(actor, to, amount, reason, source),
    setParameter: (actor, ledger, name, value, source) => this.governance.parameterInput(actor, ledger, name, value, source),
    openProposal: (proposer, template, source) => this.governance.proposalInput(proposer, template, source),
  };

  private direct(): void {
    if (this.authority === 'proposal') throw new ChainproofError('FORBIDDEN', 'contracts change only through a passed proposal (CHAINPROOF_RULES_AUTHORITY=proposal)');
  }

  async startConsumer(log: Logger, options: { idlePollMs?: number } = {}): Promise<void> {
    if (!this.ledger.serverKey) {
      // Firings are server-signed events: without a key every one would be refused.
      log.warn('no signing key: contracts are not run');
      return;
    }
    this.consumer = new RulesConsumer({
      dataSource: this.dataSource,
      ledger: this.ledger,
      ledgerName: RULES_LEDGER,
      effects: this.effects,
      maxBatch: this.maxBatch,
      ...options,
      projectOther: (tx, events) => this.governance.project(tx, events),
      log,
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Re-runs every contract over the ledger and compares with the recorded firings (see replay.ts). */
  async replay(): Promise<RulesReplayReport> {
    return replayRules(this.dataSource, await this.ledger.ledger(RULES_LEDGER), this.effects);
  }

  private async append<T extends keyof RulesPayloads>(type: T, actor: string, resource: string, payload: RulesPayloads[T]): Promise<LedgerEvent> {
    const [e] = await this.ledger.append(RULES_LEDGER, [{ type, actor, resource, subsystem: RULES_SUBSYSTEM, payload }], {
      asServer: true,
      projection: (tx, events) => projectRules(tx, events),
    });
    return e!;
  }

  async create(actor: string, input: CreateContractInput, active = true): Promise<ContractView> {
    this.direct();
    const def = checkContract(input);
    await this.checkAgainstLedgers(def);
    const e = await this.append('ContractCreated', actor, 'contract', { ...def, active });
    return (await this.contract(e.id))!;
  }

  /** What checkContract cannot see: that named ledgers exist and proposal templates' parameter values fit them now. */
  private async checkAgainstLedgers(def: ContractDefinition): Promise<void> {
    for (const [i, a] of def.actions.entries()) {
      try {
        // The value is computed when the contract fires; here, that the ledger's parameters may change at all.
        if (a.kind === 'setParameter') await this.ledger.checkParameters(a.ledger, {});
        if (a.kind === 'openProposal') await this.governance.checkProposalActions(a.template.actions);
      } catch (e) {
        if (e instanceof ChainproofError) throw new ChainproofError(e.code, `action ${i}: ${e.message}`, { cause: e });
        throw e;
      }
    }
  }

  async setActive(actor: string, id: string, active: boolean): Promise<ContractView> {
    this.direct();
    if (!isHexId(id)) throw new ChainproofError('BAD_USER_INPUT', 'contract id must be 64 lowercase hex characters (the id of its ContractCreated event)');
    await this.append('ContractActiveSet', actor, `contract/${id}`, { contractId: id, active });
    return (await this.contract(id))!;
  }

  /** Replaces a contract's parameters (what built-in contracts are tuned with) from the next event on. */
  async setParameters(actor: string, id: string, parameters: unknown): Promise<ContractView> {
    this.direct();
    if (!isHexId(id)) throw new ChainproofError('BAD_USER_INPUT', 'contract id must be 64 lowercase hex characters (the id of its ContractCreated event)');
    await this.append('ContractParametersSet', actor, `contract/${id}`, { contractId: id, parameters: checkParameters(parameters) });
    return (await this.contract(id))!;
  }

  /**
   * Installs the built-in contracts this database does not have yet (see builtins.ts). One
   * that was installed once stays as its admins left it, deactivated or retuned.
   */
  async installBuiltins(log: Logger): Promise<void> {
    if (!this.ledger.serverKey) return; // contracts are server-signed events; startConsumer says why nothing runs
    for (const b of BUILTIN_CONTRACTS) {
      const [row] = await this.dataSource.query(`SELECT 1 FROM rules_contracts WHERE definition->>'builtin' = $1`, [b.builtin]);
      if (row) continue;
      try {
        await this.append('ContractCreated', RULES_ACTOR, 'contract', { ...checkContract(b.input), builtin: b.builtin, active: true });
        log.info({ builtin: b.builtin }, 'installed a built-in contract');
      } catch (err) {
        // Another server process installed it at the same moment (the unique index refused this one).
        const [again] = await this.dataSource.query(`SELECT 1 FROM rules_contracts WHERE definition->>'builtin' = $1`, [b.builtin]);
        if (!again) throw err;
      }
    }
  }

  async contract(id: string): Promise<ContractView | null> {
    if (!isHexId(id)) throw new ChainproofError('BAD_USER_INPUT', 'contract id must be 64 lowercase hex characters');
    const [row] = await this.dataSource.query(`SELECT * FROM rules_contracts WHERE id = $1`, [id]);
    return row ? contractView(row) : null;
  }

  async contracts(filter: { active?: boolean }, page: PageArgs): Promise<Page<ContractView>> {
    const { first, after } = forwardPage('contract', page, RULES_PAGES.contracts);
    const rows = await this.dataSource.query(
      `SELECT * FROM rules_contracts WHERE idx > $1 AND ($2::boolean IS NULL OR active = $2) ORDER BY idx LIMIT $3`,
      [after, filter.active ?? null, first + 1],
    );
    return {
      items: rows.slice(0, first).map((r: any) => ({ cursor: encodeCursor('contract', Number(r.idx)), node: contractView(r) })),
      hasNextPage: rows.length > first,
      hasPreviousPage: after >= 0,
    };
  }

  async executions(contractId: string, page: PageArgs): Promise<Page<ExecutionView>> {
    const { first, after } = forwardPage('execution', page, RULES_PAGES.executions);
    const rows = await this.dataSource.query(
      `SELECT * FROM rules_executions WHERE contract_id = $1 AND idx > $2 ORDER BY idx LIMIT $3`,
      [contractId, after, first + 1],
    );
    return {
      items: rows.slice(0, first).map((r: any) => ({
        cursor: encodeCursor('execution', Number(r.idx)),
        node: {
          index: Number(r.idx),
          eventId: r.event_id.toString('hex'),
          contractId: r.contract_id,
          triggerId: r.trigger_id,
          triggerIndex: Number(r.trigger_idx),
          ok: r.ok,
          error: r.error,
          record: r.record,
        },
      })),
      hasNextPage: rows.length > first,
      hasPreviousPage: after >= 0,
    };
  }

  /** AlertRaised events as they commit (from `after`, a cursor, first). */
  alerts(after?: string): Promise<AsyncIterableIterator<LedgerEvent>> {
    return this.ledger.subscribe('event', RULES_LEDGER, {
      after,
      filter: { subsystem: RULES_SUBSYSTEM, types: ['AlertRaised'] },
      accept: (e) => e.subsystem === RULES_SUBSYSTEM && e.type === 'AlertRaised',
    });
  }
}

function contractView(r: any): ContractView {
  const def = r.definition as ContractDefinition;
  return {
    id: r.id,
    index: Number(r.idx),
    name: r.name,
    description: def.description,
    active: r.active,
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_ms)),
    definition: def,
  };
}
