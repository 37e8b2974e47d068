import type { EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { quadraticWeight } from './amount.js';
import { isGovernanceEventType, type GovernancePayloads, type LedgerParameterName, type VoteChoice } from './events.js';
import { proposalClock, proposalCount, type ProposalRow } from './proposal-row.js';
import { proposalState } from './state.js';
import { voteSignatureValid } from './vote-message.js';
import { TOKEN_EVENT_TYPES, TokenFold } from './token-fold.js';

/** A voter's state at a snapshot, and the weight its delegators took back by voting themselves. */
interface VoterAt {
  at_balance: string | null;
  at_delegate: string | null;
  at_power: string | null;
  at_reclaimed: string | null;
}

/** Selects VoterAt for the voter `voter` at the snapshot `snapshot` (SQL expressions; `p.id` or `$3` names the proposal). */
const VOTER_AT = (snapshot: string, voter: string) => {
  const proposal = snapshot === 'p.snapshot' ? 'p.id' : '$3';
  return `(SELECT balance FROM gov_balance_history WHERE account = ${voter} AND idx < ${snapshot} ORDER BY idx DESC LIMIT 1) AS at_balance,
          (SELECT delegate FROM gov_delegate_history WHERE account = ${voter} AND idx < ${snapshot} ORDER BY idx DESC LIMIT 1) AS at_delegate,
          (SELECT power FROM gov_power_history WHERE account = ${voter} AND idx < ${snapshot} ORDER BY idx DESC LIMIT 1) AS at_power,
          (SELECT coalesce(sum(own_balance), 0) FROM gov_votes WHERE proposal_id = ${proposal} AND delegate_at_snapshot = ${voter}) AS at_reclaimed`;
};

/** A vote as the projector wrote it: the gov_votes row, so the caller need not read it back. */
export interface ProjectedVote {
  proposalId: string;
  voter: string;
  choice: VoteChoice;
  power: bigint;
  weight: bigint;
  quadratic: boolean;
  delegateAtSnapshot: string | null;
  reason: string | null;
  signature: string | null;
  index: number;
  eventId: string;
}

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

/**
 * Folds governance events into the projection tables, one event at a time, in ledger order.
 * The same code runs live (inside the append's transaction, where a thrown error refuses
 * the append and nothing is written) and on replay, so the projections are exactly what the
 * ledger implies. Every check that guards an invariant lives here, under the ledger's head
 * lock, so concurrent requests cannot race past it.
 */
export class GovernanceProjector {
  constructor(private readonly o: ProjectorOptions) {}

  /**
   * Applies events in order. Consecutive token and delegation events are folded together
   * (see TokenFold); anything else is applied on its own, after the run before it is written.
   */
  async applyAll(tx: EntityManager, events: readonly LedgerEvent[]): Promise<ProjectedVote[]> {
    const votes: ProjectedVote[] = [];
    let run: LedgerEvent[] = [];
    const flushRun = async () => {
      if (run.length === 0) return;
      const fold = await TokenFold.load(tx, run);
      for (const e of run) fold.apply(e);
      await fold.flush(tx);
      run = [];
    };
    for (const e of events) {
      if (TOKEN_EVENT_TYPES.has(e.type)) {
        run.push(e);
        continue;
      }
      await flushRun();
      if (e.type === 'VoteCast') votes.push(await this.vote(tx, e.payload as GovernancePayloads['VoteCast'], e));
      else await this.applyOther(tx, e);
    }
    await flushRun();
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

  /**
   * The snapshot is the first leaf written at or after the moment voting opened: power is
   * read from everything before it. It depends only on the ledger's content, so replay finds
   * the same one, and later appends cannot move it.
   */
  private async ensureSnapshot(tx: EntityManager, p: ProposalRow): Promise<{ snapshot: number; supply: bigint }> {
    if (p.snapshot !== null) return { snapshot: Number(p.snapshot), supply: big(p.supply_at_snapshot) };
    const [first] = await tx.query(
      `SELECT idx FROM events WHERE ledger_id = $1 AND idx > $2 AND hlc_ms >= $3 ORDER BY idx LIMIT 1`,
      [this.o.ledgerId, p.idx, p.vote_start_ms],
    );
    if (!first) throw new ChainproofError('INTERNAL', `proposal ${p.id}: no event after its voting opened`);
    const snapshot = Number(first.idx);
    const [s] = await tx.query(`SELECT supply FROM gov_supply_history WHERE idx < $1 ORDER BY idx DESC LIMIT 1`, [snapshot]);
    const supply = big(s?.supply);
    await tx.query(`UPDATE gov_proposals SET snapshot = $2, supply_at_snapshot = $3 WHERE id = $1`, [p.id, snapshot, supply.toString()]);
    return { snapshot, supply };
  }

  /**
   * Runs under the ledger's head lock, so its round trips are everyone's latency: one read
   * (proposal, an earlier vote, and the voter's state at a known snapshot) and one write.
   */
  private async vote(tx: EntityManager, v: GovernancePayloads['VoteCast'], e: LedgerEvent): Promise<ProjectedVote> {
    const [row] = await tx.query(
      `SELECT p.*, EXISTS (SELECT 1 FROM gov_votes WHERE proposal_id = p.id AND voter = $2) AS already, ${VOTER_AT('p.snapshot', '$2')}
         FROM gov_proposals p WHERE p.id = $1`,
      [v.proposalId, v.voter],
    );
    if (!row) throw new ChainproofError('NOT_FOUND', `no proposal ${v.proposalId}`);
    const p = row as ProposalRow & VoterAt & { already: boolean };
    const now = e.hlc.physicalMs;
    if (p.canceled_idx !== null) throw new ChainproofError('PROPOSAL_STATE', `proposal ${p.id} was canceled`);
    if (now < Number(p.vote_start_ms) || now >= Number(p.vote_end_ms)) {
      throw new ChainproofError('VOTING_CLOSED', `voting on ${p.id} is open from ${new Date(Number(p.vote_start_ms)).toISOString()} until ${new Date(Number(p.vote_end_ms)).toISOString()}`);
    }
    // Live, GovernanceService checked the signature before appending; replay checks it here.
    if (!this.o.live && v.signature !== undefined && !voteSignatureValid({ origin: this.o.origin, proposalId: p.id, voter: v.voter, choice: v.choice, reason: v.reason }, v.signature)) {
      throw new ChainproofError('BAD_SIGNATURE', `the vote's signature is not ${v.voter}'s over this vote`);
    }
    if (p.already) throw new ChainproofError('ALREADY_VOTED', `${v.voter} has voted on ${p.id} already`);
    let at: VoterAt = p;
    let snapshot = p.snapshot === null ? null : Number(p.snapshot);
    if (snapshot === null) {
      // The first vote fixes the snapshot; the voter's state at it could not be read before.
      snapshot = (await this.ensureSnapshot(tx, p)).snapshot;
      [at] = await tx.query(`SELECT ${VOTER_AT('$2::bigint', '$1')}`, [v.voter, snapshot, p.id]);
    }
    const own = big(at.at_balance);
    const delegate: string | null = at.at_delegate ?? null;
    // Delegator override: a delegator who votes takes its own weight back from its delegate.
    let power = big(at.at_power) - big(at.at_reclaimed);
    if (delegate !== null) {
      power += own;
      await this.reclaimFrom(tx, p, delegate, own);
    }
    if (power <= 0n) {
      throw new ChainproofError('NO_VOTING_POWER', `${v.voter} had no voting power at the snapshot (leaf ${snapshot}) of ${p.id}`);
    }
    const weight = this.weightOf(p, power);
    const c = v.choice.toLowerCase();
    await tx.query(
      `WITH vote AS (
         INSERT INTO gov_votes (proposal_id, voter, choice, power, weight, delegate_at_snapshot, own_balance, reason, signature, idx, event_id)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING proposal_id)
       UPDATE gov_proposals SET ${c}_power = ${c}_power + $4, ${c}_weight = ${c}_weight + $5, voters = voters + 1
        WHERE id = (SELECT proposal_id FROM vote)`,
      [p.id, v.voter, v.choice, power.toString(), weight.toString(), delegate, own.toString(), v.reason ?? null, v.signature ?? null, e.index, Buffer.from(e.id, 'hex')],
    );
    return {
      proposalId: p.id, voter: v.voter, choice: v.choice, power, weight, quadratic: p.voting_type === 'QUADRATIC', delegateAtSnapshot: delegate,
      reason: v.reason ?? null, signature: v.signature ?? null, index: e.index, eventId: e.id,
    };
  }

  private weightOf(p: ProposalRow, power: bigint): bigint {
    return p.voting_type === 'QUADRATIC' ? quadraticWeight(power) : power;
  }

  /** A delegate that has voted already loses the weight its delegator now casts itself. */
  private async reclaimFrom(tx: EntityManager, p: ProposalRow, delegate: string, own: bigint): Promise<void> {
    if (own === 0n) return;
    const [dv] = await tx.query(`SELECT choice, power, weight FROM gov_votes WHERE proposal_id = $1 AND voter = $2`, [p.id, delegate]);
    if (!dv) return;
    const power = big(dv.power) - own;
    const weight = this.weightOf(p, power);
    await tx.query(`UPDATE gov_votes SET power = $3, weight = $4 WHERE proposal_id = $1 AND voter = $2`, [p.id, delegate, power.toString(), weight.toString()]);
    await this.addToTally(tx, p.id, dv.choice as VoteChoice, power - big(dv.power), weight - big(dv.weight), 0);
  }

  private async addToTally(tx: EntityManager, id: string, choice: VoteChoice, power: bigint, weight: bigint, voters: number): Promise<void> {
    const c = choice.toLowerCase();
    await tx.query(
      `UPDATE gov_proposals SET ${c}_power = ${c}_power + $2, ${c}_weight = ${c}_weight + $3, voters = voters + $4 WHERE id = $1`,
      [id, power.toString(), weight.toString(), voters],
    );
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
