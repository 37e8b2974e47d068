import type { EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { quadraticWeight } from './amount.js';
import { isGovernanceEventType, type GovernancePayloads, type LedgerParameterName, type VoteChoice } from './events.js';
import { proposalClock, proposalCount, type ProposalRow } from './proposal-row.js';
import { proposalState } from './state.js';
import { voteSignatureValid } from './vote-message.js';

/** Checks that depend on configuration, made when an event is first written and not on replay. */
export interface LivePolicy {
  proposalThreshold: bigint;
  maxLiveProposals: number;
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

  async apply(tx: EntityManager, e: LedgerEvent): Promise<void> {
    if (!isGovernanceEventType(e.type)) return;
    const p = e.payload as any;
    switch (e.type) {
      case 'TokensMinted': {
        const m = p as GovernancePayloads['TokensMinted'];
        await this.changeBalance(tx, m.to, BigInt(m.amount), e, 'mint');
        return this.changeSupply(tx, BigInt(m.amount), e.index);
      }
      case 'TokensBurned': {
        const b = p as GovernancePayloads['TokensBurned'];
        await this.changeBalance(tx, b.from, -BigInt(b.amount), e, 'burn');
        return this.changeSupply(tx, -BigInt(b.amount), e.index);
      }
      case 'TokensTransferred': {
        const t = p as GovernancePayloads['TokensTransferred'];
        await this.changeBalance(tx, t.from, -BigInt(t.amount), e, 'transfer-out');
        return this.changeBalance(tx, t.to, BigInt(t.amount), e, 'transfer-in');
      }
      case 'DelegateChanged':
        return this.delegate(tx, p as GovernancePayloads['DelegateChanged'], e.index);
      case 'ProposalCreated':
        return this.propose(tx, p as GovernancePayloads['ProposalCreated'], e);
      case 'VoteCast':
        return this.vote(tx, p as GovernancePayloads['VoteCast'], e);
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

  // ------------------------------------------------------------ tokens and delegation

  private async changeBalance(tx: EntityManager, account: string, delta: bigint, e: LedgerEvent, kind: string): Promise<void> {
    const [row] = await tx.query(`SELECT balance, delegate FROM gov_accounts WHERE account = $1`, [account]);
    const balance = big(row?.balance) + delta;
    if (balance < 0n) {
      throw new ChainproofError('INSUFFICIENT_BALANCE', `${account} holds ${big(row?.balance)} tokens; ${-delta} are needed`);
    }
    await tx.query(
      `INSERT INTO gov_accounts (account, balance) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET balance = EXCLUDED.balance`,
      [account, balance.toString()],
    );
    await tx.query(
      `INSERT INTO gov_balance_history (account, idx, balance, delta, kind, event_id) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account, idx) DO UPDATE SET balance = EXCLUDED.balance, delta = gov_balance_history.delta + EXCLUDED.delta`,
      [account, e.index, balance.toString(), delta.toString(), kind, Buffer.from(e.id, 'hex')],
    );
    await this.changePower(tx, (row?.delegate as string | null) ?? account, delta, e.index);
  }

  private async changePower(tx: EntityManager, account: string, delta: bigint, index: number): Promise<void> {
    if (delta === 0n) return;
    // A CHECK applies to an INSERT's proposed row even when ON CONFLICT turns it into an
    // update, so a negative delta cannot go through an upsert.
    const updated = await tx.query(
      `UPDATE gov_accounts SET voting_power = voting_power + $2 WHERE account = $1 RETURNING voting_power`,
      [account, delta.toString()],
    );
    const rows: Array<{ voting_power: string }> = Array.isArray(updated[0]) ? updated[0] : updated;
    let power = rows[0]?.voting_power;
    if (power === undefined) {
      await tx.query(`INSERT INTO gov_accounts (account, voting_power) VALUES ($1, $2)`, [account, delta.toString()]);
      power = delta.toString();
    }
    await tx.query(
      `INSERT INTO gov_power_history (account, idx, power) VALUES ($1, $2, $3) ON CONFLICT (account, idx) DO UPDATE SET power = EXCLUDED.power`,
      [account, index, power],
    );
  }

  private async changeSupply(tx: EntityManager, delta: bigint, index: number): Promise<void> {
    const [last] = await tx.query(`SELECT supply FROM gov_supply_history ORDER BY idx DESC LIMIT 1`);
    await tx.query(`INSERT INTO gov_supply_history (idx, supply) VALUES ($1, $2)`, [index, (big(last?.supply) + delta).toString()]);
  }

  private async delegate(tx: EntityManager, d: GovernancePayloads['DelegateChanged'], index: number): Promise<void> {
    const next = d.delegate === d.account ? null : d.delegate;
    const [row] = await tx.query(`SELECT balance, delegate FROM gov_accounts WHERE account = $1`, [d.account]);
    const previous: string | null = row?.delegate ?? null;
    if (previous === next) throw new ChainproofError('CONFLICT', next ? `${d.account} already delegates to ${next}` : `${d.account} does not delegate`);
    await tx.query(
      `INSERT INTO gov_accounts (account, delegate) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET delegate = EXCLUDED.delegate`,
      [d.account, next],
    );
    await tx.query(`INSERT INTO gov_delegate_history (account, idx, delegate) VALUES ($1, $2, $3)`, [d.account, index, next]);
    const balance = big(row?.balance);
    await this.changePower(tx, previous ?? d.account, -balance, index);
    await this.changePower(tx, next ?? d.account, balance, index);
  }

  // ------------------------------------------------------------ proposals

  private async propose(tx: EntityManager, c: GovernancePayloads['ProposalCreated'], e: LedgerEvent): Promise<void> {
    const now = e.hlc.physicalMs;
    if (this.o.live) {
      const [acc] = await tx.query(`SELECT voting_power FROM gov_accounts WHERE account = $1`, [c.proposer]);
      const power = big(acc?.voting_power);
      if (power < this.o.live.proposalThreshold) {
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

  private async vote(tx: EntityManager, v: GovernancePayloads['VoteCast'], e: LedgerEvent): Promise<void> {
    const p = await this.proposal(tx, v.proposalId);
    const now = e.hlc.physicalMs;
    if (p.canceled_idx !== null) throw new ChainproofError('PROPOSAL_STATE', `proposal ${p.id} was canceled`);
    if (now < Number(p.vote_start_ms) || now >= Number(p.vote_end_ms)) {
      throw new ChainproofError('VOTING_CLOSED', `voting on ${p.id} is open from ${new Date(Number(p.vote_start_ms)).toISOString()} until ${new Date(Number(p.vote_end_ms)).toISOString()}`);
    }
    if (v.signature !== undefined && !voteSignatureValid({ origin: this.o.origin, proposalId: p.id, voter: v.voter, choice: v.choice, reason: v.reason }, v.signature)) {
      throw new ChainproofError('BAD_SIGNATURE', `the vote's signature is not ${v.voter}'s over this vote`);
    }
    const { snapshot } = await this.ensureSnapshot(tx, p);
    const [already] = await tx.query(`SELECT 1 FROM gov_votes WHERE proposal_id = $1 AND voter = $2`, [p.id, v.voter]);
    if (already) throw new ChainproofError('ALREADY_VOTED', `${v.voter} has voted on ${p.id} already`);

    const [at] = await tx.query(
      `SELECT (SELECT balance FROM gov_balance_history WHERE account = $1 AND idx < $2 ORDER BY idx DESC LIMIT 1) AS balance,
              (SELECT delegate FROM gov_delegate_history WHERE account = $1 AND idx < $2 ORDER BY idx DESC LIMIT 1) AS delegate,
              (SELECT power FROM gov_power_history WHERE account = $1 AND idx < $2 ORDER BY idx DESC LIMIT 1) AS power,
              (SELECT coalesce(sum(own_balance), 0) FROM gov_votes WHERE proposal_id = $3 AND delegate_at_snapshot = $1) AS reclaimed`,
      [v.voter, snapshot, p.id],
    );
    const own = big(at.balance);
    const delegate: string | null = at.delegate ?? null;
    // Delegator override: a delegator who votes takes its own weight back from its delegate.
    let power = big(at.power) - big(at.reclaimed);
    if (delegate !== null) {
      power += own;
      await this.reclaimFrom(tx, p, delegate, own);
    }
    if (power <= 0n) {
      throw new ChainproofError('NO_VOTING_POWER', `${v.voter} had no voting power at the snapshot (leaf ${snapshot}) of ${p.id}`);
    }
    const weight = this.weightOf(p, power);
    await tx.query(
      `INSERT INTO gov_votes (proposal_id, voter, choice, power, weight, delegate_at_snapshot, own_balance, reason, signature, idx, event_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
      [p.id, v.voter, v.choice, power.toString(), weight.toString(), delegate, own.toString(), v.reason ?? null, v.signature ?? null, e.index, Buffer.from(e.id, 'hex')],
    );
    await this.addToTally(tx, p.id, v.choice, power, weight, 1);
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
