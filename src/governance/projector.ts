import type { EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { isGovernanceEventType, type GovernancePayloads, type LedgerParameterName } from './events.js';
import { proposalClock, proposalCount, type ProposalRow } from './proposal-row.js';
import { proposalState } from './state.js';
import { TOKEN_EVENT_TYPES, TokenFold } from './token-fold.js';
import { projectVotes, type ProjectedVote } from './vote-fold.js';

/** Checks that depend on configuration, made when an event is first written and not on replay. */
export interface LivePolicy {
  proposalThreshold: bigint;
  maxLiveProposals: number;
  /** Server identities that may propose below the threshold (the rules engine). */
  thresholdExempt?: ReadonlySet<string>;
}

/** What a projection may change outside governance's own tables (a ledger's parameters); absent on replay. */
export type SetLedgerParameter = (tx: EntityManager, ledger: string, name: Exclude<LedgerParameterName, 'miningReward'>, value: number) => Promise<void>;

export interface ProjectorOptions {
  ledgerId: number;
  /** The governance ledger's origin: signed votes are bound to it. */
  origin: string;
  live?: LivePolicy;
  setLedgerParameter?: SetLedgerParameter;
}

const big = (v: unknown): bigint => BigInt((v as string | null) ?? 0);

type RunKind = 'tokens' | 'votes' | 'other';
const runKind = (e: LedgerEvent): RunKind => (TOKEN_EVENT_TYPES.has(e.type) ? 'tokens' : e.type === 'VoteCast' ? 'votes' : 'other');

/** Consecutive events of one kind, in order. */
function runsOf(events: readonly LedgerEvent[]): Array<{ kind: RunKind; events: LedgerEvent[] }> {
  const runs: Array<{ kind: RunKind; events: LedgerEvent[] }> = [];
  for (const e of events) {
    const kind = runKind(e);
    const last = runs.at(-1);
    if (last?.kind === kind) last.events.push(e);
    else runs.push({ kind, events: [e] });
  }
  return runs;
}

/**
 * Folds governance events into the projection tables in ledger order, each event against the
 * state the ones before it left (runs of similar events are folded together, see applyAll).
 * The same code runs live (inside the append's transaction, where a thrown error refuses
 * the append and nothing is written) and on replay, so the projections are exactly what the
 * ledger implies. Every check that guards an invariant lives here, under the ledger's head
 * lock, so concurrent requests cannot race past it.
 */
export class GovernanceProjector {
  constructor(private readonly o: ProjectorOptions) {}

  /**
   * Applies events in order. Consecutive token and delegation events are folded together (see
   * TokenFold), consecutive votes likewise (see projectVotes); anything else is applied on its
   * own, after the run before it is written.
   */
  async applyAll(tx: EntityManager, events: readonly LedgerEvent[]): Promise<ProjectedVote[]> {
    const votes: ProjectedVote[] = [];
    for (const run of runsOf(events)) {
      if (run.kind === 'tokens') {
        const fold = await TokenFold.load(tx, run.events);
        for (const e of run.events) fold.apply(e);
        await fold.flush(tx);
      } else if (run.kind === 'votes') {
        votes.push(...(await projectVotes(tx, run.events, { ledgerId: this.o.ledgerId, origin: this.o.origin, checkSignatures: !this.o.live })));
      } else {
        for (const e of run.events) await this.applyOther(tx, e);
      }
    }
    return votes;
  }

  private async applyOther(tx: EntityManager, e: LedgerEvent): Promise<void> {
    if (!isGovernanceEventType(e.type)) return;
    const p = e.payload as any;
    switch (e.type) {
      case 'ProposalCreated':
        return this.propose(tx, p as GovernancePayloads['ProposalCreated'], e);
      case 'ProposalQueued':
        return this.queue(tx, (p as GovernancePayloads['ProposalQueued']).proposalId, e);
      case 'ProposalExecuted':
        return this.execute(tx, (p as GovernancePayloads['ProposalExecuted']).proposalId, e);
      case 'ProposalCanceled':
        return this.cancel(tx, (p as GovernancePayloads['ProposalCanceled']).proposalId, e);
      case 'LedgerParameterSet':
        return this.setParameter(tx, p as GovernancePayloads['LedgerParameterSet']);
    }
  }

  // ------------------------------------------------------------ proposals

  private async propose(tx: EntityManager, c: GovernancePayloads['ProposalCreated'], e: LedgerEvent): Promise<void> {
    const now = e.hlc.physicalMs;
    if (this.o.live) {
      const [acc] = await tx.query(`SELECT voting_power FROM gov_accounts WHERE account = $1`, [c.proposer]);
      const power = big(acc?.voting_power);
      if (power < this.o.live.proposalThreshold && !this.o.live.thresholdExempt?.has(c.proposer)) {
        throw new ChainproofError('BELOW_PROPOSAL_THRESHOLD', `proposing needs ${this.o.live.proposalThreshold} voting power; ${c.proposer} has ${power}`);
      }
      const [live] = await tx.query(
        `SELECT count(*) AS n FROM gov_proposals WHERE proposer = $1 AND canceled_idx IS NULL AND vote_end_ms > $2`,
        [c.proposer, now],
      );
      if (Number(live.n) >= this.o.live.maxLiveProposals) {
        throw new ChainproofError('TOO_MANY_PROPOSALS', `${c.proposer} has ${live.n} live proposals; the limit is ${this.o.live.maxLiveProposals}`);
      }
    }
    const start = now + c.votingDelay * 1000;
    await tx.query(
      `INSERT INTO gov_proposals (id, idx, proposer, title, description, voting_type, created_ms, vote_start_ms, vote_end_ms,
         quorum_ppm, threshold_ppm, timelock_s, grace_s, actions)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
      [e.id, e.index, c.proposer, c.title, c.description, c.votingType, now, start, start + c.votingPeriod * 1000,
        c.quorumPpm, c.thresholdPpm, c.timelock, c.grace, JSON.stringify(c.actions)],
    );
  }

  private async proposal(tx: EntityManager, id: string): Promise<ProposalRow> {
    const [row] = await tx.query(`SELECT * FROM gov_proposals WHERE id = $1`, [id]);
    if (!row) throw new ChainproofError('NOT_FOUND', `no proposal ${id}`);
    return row;
  }

  private async queue(tx: EntityManager, id: string, e: LedgerEvent): Promise<void> {
    const p = await this.proposal(tx, id);
    const state = proposalState(proposalClock(p), proposalCount(p), e.hlc.physicalMs);
    if (state !== 'SUCCEEDED') throw new ChainproofError('PROPOSAL_STATE', `proposal ${id} is ${state}; only a SUCCEEDED proposal can be queued`);
    await tx.query(`UPDATE gov_proposals SET queued_ms = $2, queued_idx = $3 WHERE id = $1`, [id, e.hlc.physicalMs, e.index]);
  }

  private async execute(tx: EntityManager, id: string, e: LedgerEvent): Promise<void> {
    const p = await this.proposal(tx, id);
    const clock = proposalClock(p);
    const state = proposalState(clock, proposalCount(p), e.hlc.physicalMs);
    if (state !== 'QUEUED') throw new ChainproofError('PROPOSAL_STATE', `proposal ${id} is ${state}; only a QUEUED proposal can be executed`);
    const eta = clock.queuedMs! + clock.timelockS * 1000;
    if (e.hlc.physicalMs < eta) {
      throw new ChainproofError('TIMELOCK_PENDING', `proposal ${id} may be executed from ${new Date(eta).toISOString()}`);
    }
    await tx.query(`UPDATE gov_proposals SET executed_idx = $2 WHERE id = $1`, [id, e.index]);
  }

  private async cancel(tx: EntityManager, id: string, e: LedgerEvent): Promise<void> {
    const p = await this.proposal(tx, id);
    if (e.actor !== p.proposer) throw new ChainproofError('FORBIDDEN', `only its proposer ${p.proposer} may cancel ${id}`);
    const state = proposalState(proposalClock(p), proposalCount(p), e.hlc.physicalMs);
    if (state !== 'PENDING') throw new ChainproofError('PROPOSAL_STATE', `proposal ${id} is ${state}; only a PENDING proposal can be canceled`);
    await tx.query(`UPDATE gov_proposals SET canceled_idx = $2 WHERE id = $1`, [id, e.index]);
  }

  private async setParameter(tx: EntityManager, s: GovernancePayloads['LedgerParameterSet']): Promise<void> {
    if (s.name === 'miningReward') {
      await tx.query(
        `INSERT INTO gov_ledger_rewards (ledger, reward) VALUES ($1, $2) ON CONFLICT (ledger) DO UPDATE SET reward = EXCLUDED.reward`,
        [s.ledger, s.value],
      );
      return;
    }
    await this.o.setLedgerParameter?.(tx, s.ledger, s.name, Number(s.value));
  }
}
