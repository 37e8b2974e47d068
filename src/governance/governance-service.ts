import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { BlockRewards, REWARD_KEY } from './block-rewards.js';
import type { GovernanceConfig } from '../config.js';
import { ChainproofError } from '../errors.js';
import type { AppendInput, LedgerEvent } from '../ledger/events/event.js';
import type { PushSubscription } from '../ledger/bus.js';
import { LEDGER_CLOCK_SQL, ledgerClockMs, type LedgerService } from '../ledger/ledger-service.js';
import type { ProjectionGroup } from '../ledger/sequencer.js';
import { encodeCursor, forwardPage, type Page, type PageArgs } from '../ledger/pagination.js';
import { formatWeight, parseAmount } from './amount.js';
import { GOVERNANCE_SUBSYSTEM, governanceInput, type GovernanceInput, type DerivedEvents, type ProposalAction, type RuleActionHandler, type VoteChoice } from './events.js';
import { checkAccount, checkChoice, checkProposal, checkSetParameter, checkProposalId, checkReason, type CreateProposalInput } from './inputs.js';
import { GovernanceProjector } from './projector.js';
import { proposalClock, proposalCount, type ProposalRow } from './proposal-row.js';
import { executableAtMs, proposalState, quorumReached, type ProposalState } from './state.js';
import { voteSignatureValid } from './vote-message.js';
import type { ProjectedVote } from './vote-fold.js';
import { replayGovernance, type ReplayReport } from './replay.js';
import { governanceStateRoot } from './state-root.js';
import type { Tally } from './tally.js';

/** Governance lives on the `main` ledger: its tree size is what a proposal's snapshot counts. */
export const GOVERNANCE_LEDGER = 'main';

/** Default page sizes of governance's connections, by GraphQL field (the cost limit counts them too). */
export const GOVERNANCE_PAGES = { history: 100, proposals: 50, votes: 100 } as const;

export interface AccountView {
  id: string;
  balance: bigint;
  votingPower: bigint;
  delegate: string | null;
}

export interface ProposalView {
  id: string;
  index: number;
  proposer: string;
  title: string;
  description: string;
  votingType: 'WEIGHTED' | 'QUADRATIC';
  state: ProposalState;
  createdAt: Date;
  voteStart: Date;
  voteEnd: Date;
  quorum: number;
  threshold: number;
  timelock: number;
  grace: number;
  actions: unknown[];
  snapshot: number | null;
  supplyAtSnapshot: bigint | null;
  executableAt: Date | null;
  tally: Tally;
}

export interface VoteView {
  proposalId: string;
  voter: string;
  choice: VoteChoice;
  power: bigint;
  weight: string;
  reason: string | null;
  signature: string | null;
  delegateAtSnapshot: string | null;
  eventId: string;
  index: number;
}

export interface HistoryEntry {
  index: number;
  eventId: string;
  kind: string;
  delta: bigint;
  balance: bigint;
}

export interface CastVoteInput {
  proposalId: string;
  choice: string;
  reason?: string | null;
  /** A did:key voter, with `signature`: anyone may relay a vote its voter signed. */
  voter?: string | null;
  signature?: string | null;
}

/**
 * Tokens, delegation, proposals and votes. Every change is a server-signed event on the
 * governance ledger, appended together with its projection in one transaction; the projector
 * (shared with replay) makes every check that must hold against concurrent requests.
 */
export class GovernanceService {
  private projector: GovernanceProjector | undefined;
  /**
   * One projection for every plain governance append, so concurrent appends in one commit (a
   * burst of votes) are projected together; each request's context receives its votes.
   */
  private readonly projections: ProjectionGroup<{ votes: ProjectedVote[] } | undefined> = {
    project: async (tx, requests) => {
      const votes = await this.projector!.applyAll(tx, requests.flatMap((r) => r.events));
      const byEvent = new Map(votes.map((v) => [v.eventId, v]));
      // Assigned, not appended: a batch that rolled back is projected again.
      for (const r of requests) if (r.context) r.context.votes = r.events.flatMap((e) => byEvent.get(e.id) ?? []);
    },
  };
  private rewards: BlockRewards | undefined;
  private ruleActions: RuleActionHandler | undefined;
  private derived: DerivedEvents | undefined;
  private origin = '';
  private ledgerId = 0;
  private readonly thresholdExempt = new Set<string>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly config: GovernanceConfig,
  ) {}

  async start(): Promise<void> {
    const row = await this.ledger.ledger(GOVERNANCE_LEDGER);
    this.origin = row.origin;
    this.ledgerId = row.id;
    this.projector = new GovernanceProjector({
      ledgerId: row.id,
      origin: row.origin,
      live: { proposalThreshold: this.config.proposalThreshold, maxLiveProposals: this.config.maxLiveProposals, thresholdExempt: this.thresholdExempt },
      setLedgerParameter: (tx, ledger, name, value) => this.ledger.setParameters(tx, ledger, { [name]: value }),
    });
    this.ledger.reserveSubsystem(GOVERNANCE_SUBSYSTEM);
    this.ledger.reserveIdempotencyKeys(REWARD_KEY);
    this.ledger.addStateRoot(GOVERNANCE_LEDGER, (treeSize) => this.dataSource.transaction((tx) => governanceStateRoot(tx, treeSize)));
  }

  /** Rebuilds the projections from the ledger and compares (see replay.ts). */
  async replay(onProgress?: (done: number) => void): Promise<ReplayReport> {
    return replayGovernance(this.dataSource, await this.ledger.ledger(GOVERNANCE_LEDGER), this.ledger.serverKey?.dids, onProgress);
  }

  /** The governance ledger's origin, which signed votes are bound to. */
  get votingOrigin(): string {
    return this.origin;
  }

  /** Lets proposals carry rule actions (the rules domain registers itself at start). */
  useRuleActions(handler: RuleActionHandler): void {
    this.ruleActions = handler;
  }

  /** Lets block rewards trace the events another domain derives back to what caused them (register before startBlockRewards). */
  useDerivedEvents(derived: DerivedEvents): void {
    this.derived = derived;
  }

  /**
   * Lets a server identity (the rules engine) propose without holding voting power: its
   * authority is the contract that an admin or a passed proposal installed. The live-proposal
   * cap still applies to it.
   */
  exemptFromProposalThreshold(account: string): void {
    this.thresholdExempt.add(account);
  }

  /**
   * Governance events, and (for an executing proposal) the rule events its actions write, in one
   * transaction. `written`, if given, receives the votes the projection wrote in the one that committed.
   */
  private async append(
    inputs: Array<GovernanceInput & { idempotencyKey?: string }>,
    ruleInputs: AppendInput[] = [],
    written?: { votes: ProjectedVote[] },
  ): Promise<LedgerEvent[]> {
    const projector = this.projector;
    if (!projector) throw new ChainproofError('UNAVAILABLE', 'governance is starting');
    const rules = this.ruleActions;
    return this.ledger.append(
      GOVERNANCE_LEDGER,
      [...inputs.map((i) => ({ ...i, subsystem: GOVERNANCE_SUBSYSTEM })), ...ruleInputs],
      {
        asServer: true,
        projection:
          ruleInputs.length === 0
            ? { group: this.projections, context: written }
            : async (tx: EntityManager, events) => {
                await projector.applyAll(tx, events.filter((e) => e.subsystem === GOVERNANCE_SUBSYSTEM));
                await rules!.project(tx, events.filter((e) => e.subsystem !== GOVERNANCE_SUBSYSTEM));
              },
      },
    );
  }

  // ------------------------------------------------------------ tokens

  /**
   * `source`: what authorised it (a proposal id, a rule firing, a block), recorded with the
   * mint; `idempotencyKey` makes a repeated mint of the same thing return the first.
   */
  async mint(actor: string, to: string, amount: string, reason: string, source?: string, idempotencyKey?: string): Promise<LedgerEvent> {
    const payload = { to: checkAccount(to, 'to'), amount: parseAmount(amount, 'amount').toString(), reason: checkReason(reason) ?? '', ...(source ? { source } : {}) };
    const [e] = await this.append([{ ...governanceInput('TokensMinted', actor, `account/${payload.to}`, payload), ...(idempotencyKey ? { idempotencyKey } : {}) }]);
    return e!;
  }

  /**
   * A checked mint for another domain's append (a rule firing), which must also run
   * `project` on the events in its projection writer so balances move in the same transaction.
   */
  mintInput(actor: string, to: string, amount: string, reason: string, source: string): AppendInput {
    const payload = { to: checkAccount(to, 'to'), amount: parseAmount(amount, 'amount').toString(), reason: checkReason(reason) ?? '', source };
    return { ...governanceInput('TokensMinted', actor, `account/${payload.to}`, payload), subsystem: GOVERNANCE_SUBSYSTEM };
  }

  /**
   * A checked parameter change for a rule firing's append, the event an executed proposal's
   * setParameter writes. Checks that need the ledger's current parameters are made by the
   * projection in that append; call `parametersChanged` after it commits.
   */
  parameterInput(actor: string, ledger: string, name: string, value: string, source: string): AppendInput {
    const p = checkSetParameter({ ledger, name, value }, 'setParameter');
    this.ledger.checkParametersChangeable(p.ledger);
    if (p.name === 'miningReward' && p.ledger !== GOVERNANCE_LEDGER) throw new ChainproofError('BAD_USER_INPUT', `block rewards are paid on ${GOVERNANCE_LEDGER} only`);
    return { ...governanceInput('LedgerParameterSet', actor, `ledger/${p.ledger}`, { ledger: p.ledger, name: p.name, value: p.value, source }), subsystem: GOVERNANCE_SUBSYSTEM };
  }

  /** A proposal opened by `proposer` from a checked template, for a rule firing's append. */
  proposalInput(proposer: string, template: ReturnType<typeof checkProposal>, source: string): AppendInput {
    return { ...governanceInput('ProposalCreated', proposer, 'proposal', { proposer, ...template, grace: this.config.graceS, source }), subsystem: GOVERNANCE_SUBSYSTEM };
  }

  /** The checks of a proposal's actions that read ledgers (they exist, the new values fit): made when proposing. */
  async checkProposalActions(actions: readonly ProposalAction[]): Promise<void> {
    for (const a of actions) {
      if (a.kind !== 'setParameter') continue;
      await this.ledger.ledger(a.ledger);
      if (a.name === 'miningReward' && a.ledger !== GOVERNANCE_LEDGER) throw new ChainproofError('BAD_USER_INPUT', `block rewards are paid on ${GOVERNANCE_LEDGER} only`);
      if (a.name !== 'miningReward') await this.ledger.checkParameters(a.ledger, { [a.name]: Number(a.value) });
    }
  }

  /** Projects the governance events among `events` (another domain's append); the rest are ignored. */
  async project(tx: EntityManager, events: readonly LedgerEvent[]): Promise<void> {
    const ours = events.filter((e) => e.subsystem === GOVERNANCE_SUBSYSTEM);
    if (ours.length === 0) return;
    if (!this.projector) throw new ChainproofError('UNAVAILABLE', 'governance is starting');
    await this.projector.applyAll(tx, ours);
  }

  /** Mints to many accounts atomically (an airdrop): all grants, or none. */
  async mintMany(actor: string, grants: Array<{ to: string; amount: string }>, reason: string): Promise<LedgerEvent[]> {
    if (grants.length === 0) throw new ChainproofError('BAD_USER_INPUT', 'no grants to mint');
    const why = checkReason(reason) ?? '';
    return this.append(grants.map((g, i) => {
      const to = checkAccount(g.to, `grant ${i} to`);
      return governanceInput('TokensMinted', actor, `account/${to}`, { to, amount: parseAmount(g.amount, `grant ${i} amount`).toString(), reason: why });
    }));
  }

  /** Mints each mined block's reward to the server's miner identity (serve only, not the CLI). */
  async startBlockRewards(log: Logger): Promise<void> {
    this.rewards = new BlockRewards(this.dataSource, this.ledger, GOVERNANCE_LEDGER, this.config.miningReward,
      (to, amount, reason, source, key) => this.mint('chainproof', to, amount, reason, source, key), () => this.derived, log);
    await this.rewards.start();
  }

  async stop(): Promise<void> {
    await this.rewards?.stop();
  }

  async transfer(from: string, to: string, amount: string): Promise<LedgerEvent> {
    checkAccount(to, 'to');
    if (to === from) throw new ChainproofError('BAD_USER_INPUT', 'a transfer needs a recipient other than the sender');
    const [e] = await this.append([governanceInput('TokensTransferred', from, `account/${from}`, { from, to, amount: parseAmount(amount, 'amount').toString() })]);
    return e!;
  }

  async burn(from: string, amount: string): Promise<LedgerEvent> {
    const [e] = await this.append([governanceInput('TokensBurned', from, `account/${from}`, { from, amount: parseAmount(amount, 'amount').toString() })]);
    return e!;
  }

  /** `to` null (or the account itself) takes the account's voting power back. */
  async delegate(account: string, to: string | null): Promise<LedgerEvent> {
    const delegate = to === null || to === account ? null : checkAccount(to, 'to');
    const [e] = await this.append([governanceInput('DelegateChanged', account, `account/${account}`, { account, delegate })]);
    return e!;
  }

  // ------------------------------------------------------------ proposals and votes

  async createProposal(proposer: string, input: CreateProposalInput): Promise<ProposalView> {
    const checked = checkProposal(input, this.ruleActions);
    await this.checkProposalActions(checked.actions);
    const [e] = await this.append([governanceInput('ProposalCreated', proposer, 'proposal', { proposer, ...checked, grace: this.config.graceS })]);
    return (await this.proposal(e!.id))!;
  }

  async castVote(principalAccount: string, input: CastVoteInput): Promise<VoteView> {
    const proposalId = checkProposalId(input.proposalId);
    const choice = checkChoice(input.choice);
    const reason = checkReason(input.reason);
    let voter = principalAccount;
    const signature = input.signature ?? undefined;
    if (signature !== undefined) {
      voter = checkAccount(input.voter ?? principalAccount, 'voter');
      if (!voteSignatureValid({ origin: this.origin, proposalId, voter, choice, reason }, signature)) {
        throw new ChainproofError('BAD_SIGNATURE', `signature is not an Ed25519 signature by ${voter} (a did:key) over this vote`);
      }
    } else if (input.voter && input.voter !== principalAccount) {
      throw new ChainproofError('FORBIDDEN', 'voting for another account needs that account\'s signature');
    }
    const payload = { proposalId, voter, choice, ...(reason !== undefined ? { reason } : {}), ...(signature !== undefined ? { signature } : {}) };
    const written = { votes: [] as ProjectedVote[] };
    const [e] = await this.append([governanceInput('VoteCast', principalAccount, `proposal/${proposalId}`, payload)], [], written);
    // Answered from what the projection wrote: reading it back took a pooled connection per vote.
    // A vote is always a fresh event (server-signed, its own HLC), so its projection ran.
    const v = written.votes.find((w) => w.eventId === e!.id);
    if (!v) throw new ChainproofError('INTERNAL', `vote ${e!.id} was appended without its projection`);
    const { quadratic, weight, ...rest } = v;
    return { ...rest, weight: formatWeight(weight, quadratic) };
  }

  async queue(actor: string, id: string): Promise<ProposalView> {
    checkProposalId(id);
    await this.append([governanceInput('ProposalQueued', actor, `proposal/${id}`, { proposalId: id })]);
    return (await this.proposal(id))!;
  }

  async cancel(actor: string, id: string): Promise<ProposalView> {
    checkProposalId(id);
    await this.append([governanceInput('ProposalCanceled', actor, `proposal/${id}`, { proposalId: id })]);
    return (await this.proposal(id))!;
  }

  /** Executes every action of a queued proposal in one transaction: all take effect, or none. */
  async execute(actor: string, id: string): Promise<ProposalView> {
    checkProposalId(id);
    const p = await this.row(id);
    if (!p) throw new ChainproofError('NOT_FOUND', `no proposal ${id}`);
    const actions = p.actions as Array<{ kind: string; to?: string; amount?: string; ledger?: string; name?: any; value?: string; rule?: unknown }>;
    const ruleInputs: AppendInput[] = [];
    const inputs: GovernanceInput[] = [governanceInput('ProposalExecuted', actor, `proposal/${id}`, { proposalId: id })];
    for (const a of actions) {
      if (a.kind === 'mint') {
        inputs.push(governanceInput('TokensMinted', actor, `account/${a.to}`, { to: a.to!, amount: a.amount!, reason: `proposal ${id}`, source: id }));
      } else if (a.kind === 'setParameter') {
        // Checked again: a proposal made by an older server may name a reserved ledger.
        this.ledger.checkParametersChangeable(a.ledger!);
        inputs.push(governanceInput('LedgerParameterSet', actor, `ledger/${a.ledger}`, { ledger: a.ledger!, name: a.name, value: a.value!, proposalId: id }));
      } else if (a.kind === 'rule') {
        if (!this.ruleActions) throw new ChainproofError('NOT_SUPPORTED', 'this proposal changes rules, and this server does not run the contract engine');
        ruleInputs.push(...this.ruleActions.inputs(actor, a.rule, id));
      }
    }
    await this.append(inputs, ruleInputs);
    for (const a of actions) if (a.kind === 'setParameter' && a.name !== 'miningReward') await this.ledger.parametersChanged(a.ledger!);
    return (await this.proposal(id))!;
  }

  // ------------------------------------------------------------ reads

  async account(id: string): Promise<AccountView> {
    checkAccount(id);
    const [row] = await this.dataSource.query(`SELECT balance, voting_power, delegate FROM gov_accounts WHERE account = $1`, [id]);
    return { id, balance: BigInt(row?.balance ?? 0), votingPower: BigInt(row?.voting_power ?? 0), delegate: row?.delegate ?? null };
  }

  /** Voting power counting only events before leaf `treeSize` (a proposal's snapshot, say). */
  async votingPowerAt(id: string, treeSize: number): Promise<bigint> {
    const [row] = await this.dataSource.query(
      `SELECT power FROM gov_power_history WHERE account = $1 AND idx < $2 ORDER BY idx DESC LIMIT 1`,
      [id, treeSize],
    );
    return BigInt(row?.power ?? 0);
  }

  async delegators(id: string): Promise<string[]> {
    const rows = await this.dataSource.query(`SELECT account FROM gov_accounts WHERE delegate = $1 ORDER BY account LIMIT 1000`, [id]);
    return rows.map((r: { account: string }) => r.account);
  }

  async history(id: string, page: PageArgs): Promise<Page<HistoryEntry>> {
    const { first, after } = forwardPage('balance', page, GOVERNANCE_PAGES.history);
    const rows = await this.dataSource.query(
      `SELECT idx, event_id, kind, delta, balance FROM gov_balance_history WHERE account = $1 AND idx > $2 ORDER BY idx LIMIT $3`,
      [id, after, first + 1],
    );
    return {
      items: rows.slice(0, first).map((r: any) => ({
        cursor: encodeCursor('balance', Number(r.idx)),
        node: { index: Number(r.idx), eventId: r.event_id.toString('hex'), kind: r.kind, delta: BigInt(r.delta), balance: BigInt(r.balance) },
      })),
      hasNextPage: rows.length > first,
      hasPreviousPage: after >= 0,
    };
  }

  private async row(id: string): Promise<ProposalRow | null> {
    const [row] = await this.dataSource.query(`SELECT * FROM gov_proposals WHERE id = $1`, [id]);
    return row ?? null;
  }

  /** A proposal's row and the governance ledger's clock, in one round trip: a tally is read this way many times a second. */
  private async rowAndClock(id: string): Promise<{ row: ProposalRow; clockMs: number } | null> {
    const [r] = await this.dataSource.query(
      `SELECT p.*, ${LEDGER_CLOCK_SQL} AS ledger_clock_ms FROM gov_proposals p WHERE p.id = $2`,
      [this.ledgerId, id],
    );
    if (!r) return null;
    const { ledger_clock_ms: clock, ...row } = r;
    return { row: row as ProposalRow, clockMs: ledgerClockMs(clock) };
  }

  async proposal(id: string): Promise<ProposalView | null> {
    checkProposalId(id);
    const found = await this.rowAndClock(id);
    return found && this.view(found.row, found.clockMs);
  }

  /** Proposals, newest first (or oldest first), optionally by state (as of now) and proposer. */
  async proposals(filter: { state?: ProposalState; proposer?: string }, order: 'NEWEST' | 'OLDEST', page: PageArgs): Promise<Page<ProposalView>> {
    const { first, after: cursor } = forwardPage('proposal', page, GOVERNANCE_PAGES.proposals);
    const newest = order === 'NEWEST';
    let after = page.after === undefined ? (newest ? Number.MAX_SAFE_INTEGER : -1) : cursor;
    const now = await this.ledger.clockMs(GOVERNANCE_LEDGER);
    const items: Array<{ cursor: string; node: ProposalView }> = [];
    // State depends on time and tallies, so it is filtered here; pages of rows are read until one is full.
    for (;;) {
      const rows: ProposalRow[] = await this.dataSource.query(
        `SELECT * FROM gov_proposals WHERE idx ${newest ? '<' : '>'} $1 AND ($2::text IS NULL OR proposer = $2)
          ORDER BY idx ${newest ? 'DESC' : 'ASC'} LIMIT 200`,
        [after, filter.proposer ?? null],
      );
      for (const r of rows) {
        after = Number(r.idx);
        const v = await this.view(r, now);
        if (filter.state && v.state !== filter.state) continue;
        if (items.length === first) return { items, hasNextPage: true, hasPreviousPage: page.after !== undefined };
        items.push({ cursor: encodeCursor('proposal', v.index), node: v });
      }
      if (rows.length < 200) return { items, hasNextPage: false, hasPreviousPage: page.after !== undefined };
    }
  }

  async votes(proposalId: string, page: PageArgs): Promise<Page<VoteView>> {
    const { first, after } = forwardPage('vote', page, GOVERNANCE_PAGES.votes);
    const p = await this.row(proposalId);
    if (!p) throw new ChainproofError('NOT_FOUND', `no proposal ${proposalId}`);
    const rows = await this.dataSource.query(
      `SELECT * FROM gov_votes WHERE proposal_id = $1 AND idx > $2 ORDER BY idx LIMIT $3`,
      [proposalId, after, first + 1],
    );
    return {
      items: rows.slice(0, first).map((r: any) => ({ cursor: encodeCursor('vote', Number(r.idx)), node: voteView(r, p.voting_type === 'QUADRATIC') })),
      hasNextPage: rows.length > first,
      hasPreviousPage: after >= 0,
    };
  }

  async vote(proposalId: string, voter: string): Promise<VoteView | null> {
    const [r] = await this.dataSource.query(
      `SELECT v.*, p.voting_type FROM gov_votes v JOIN gov_proposals p ON p.id = v.proposal_id
        WHERE v.proposal_id = $1 AND v.voter = $2`,
      [proposalId, voter],
    );
    return r ? voteView(r, r.voting_type === 'QUADRATIC') : null;
  }

  /**
   * A proposal as of `now`. Before anyone votes, the snapshot exists in the ledger but is not
   * yet recorded on the proposal; it is found the same way the first vote would find it.
   */
  private async view(p: ProposalRow, now: number): Promise<ProposalView> {
    let supply = p.supply_at_snapshot === null ? null : BigInt(p.supply_at_snapshot);
    let snapshot = p.snapshot === null ? null : Number(p.snapshot);
    if (snapshot === null && now >= Number(p.vote_start_ms)) {
      const found = await this.findSnapshot(p);
      if (found) ({ snapshot, supply } = found);
    }
    const count = proposalCount(p, supply);
    const clock = proposalClock(p);
    const quadratic = p.voting_type === 'QUADRATIC';
    const eta = executableAtMs(clock);
    return {
      id: p.id,
      index: Number(p.idx),
      proposer: p.proposer,
      title: p.title,
      description: p.description,
      votingType: p.voting_type,
      state: proposalState(clock, count, now),
      createdAt: new Date(Number(p.created_ms)),
      voteStart: new Date(clock.voteStartMs),
      voteEnd: new Date(clock.voteEndMs),
      quorum: p.quorum_ppm / 1e6,
      threshold: p.threshold_ppm / 1e6,
      timelock: clock.timelockS,
      grace: clock.graceS,
      actions: p.actions as unknown[],
      snapshot,
      supplyAtSnapshot: supply,
      executableAt: eta === null ? null : new Date(eta),
      tally: {
        for: formatWeight(BigInt(p.for_weight), quadratic),
        against: formatWeight(BigInt(p.against_weight), quadratic),
        abstain: formatWeight(BigInt(p.abstain_weight), quadratic),
        forPower: BigInt(p.for_power),
        againstPower: BigInt(p.against_power),
        abstainPower: BigInt(p.abstain_power),
        voters: p.voters,
        quorumReached: supply !== null && quorumReached(count),
        quorumRequired: supply === null ? null : (BigInt(p.quorum_ppm) * supply + 999_999n) / 1_000_000n,
      },
    };
  }

  private async findSnapshot(p: ProposalRow): Promise<{ snapshot: number; supply: bigint } | null> {
    const ledger = await this.ledger.ledger(GOVERNANCE_LEDGER);
    const [first] = await this.dataSource.query(
      `SELECT idx FROM events WHERE ledger_id = $1 AND idx > $2 AND hlc_ms >= $3 ORDER BY idx LIMIT 1`,
      [ledger.id, p.idx, p.vote_start_ms],
    );
    if (!first) return null;
    const [s] = await this.dataSource.query(`SELECT supply FROM gov_supply_history WHERE idx < $1 ORDER BY idx DESC LIMIT 1`, [first.idx]);
    return { snapshot: Number(first.idx), supply: BigInt(s?.supply ?? 0) };
  }

  /** Governance events as they commit (from `after`, a cursor, first), for the subscriptions. */
  subscribe(accept: (e: LedgerEvent) => boolean, after?: string): Promise<PushSubscription<LedgerEvent>> {
    return this.ledger.subscribe('event', GOVERNANCE_LEDGER, {
      after,
      filter: { subsystem: GOVERNANCE_SUBSYSTEM },
      // A peer's governance events synced into this ledger are not this node's proposals or votes.
      accept: (e) => e.subsystem === GOVERNANCE_SUBSYSTEM && e.origin === this.origin && accept(e),
    });
  }
}

function voteView(r: any, quadratic: boolean): VoteView {
  return {
    proposalId: r.proposal_id,
    voter: r.voter,
    choice: r.choice,
    power: BigInt(r.power),
    weight: formatWeight(BigInt(r.weight), quadratic),
    reason: r.reason,
    signature: r.signature,
    delegateAtSnapshot: r.delegate_at_snapshot,
    eventId: r.event_id.toString('hex'),
    index: Number(r.idx),
  };
}
