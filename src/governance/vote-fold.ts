import type { EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { quadraticWeight } from './amount.js';
import type { GovernancePayloads, VoteChoice } from './events.js';
import type { ProposalRow } from './proposal-row.js';
import { voteSignatureValid } from './vote-message.js';

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

/** What deciding a vote needs of its proposal. */
type VotingProposal = Pick<ProposalRow, 'id' | 'idx' | 'voting_type' | 'vote_start_ms' | 'vote_end_ms' | 'snapshot' | 'canceled_idx'>;

export interface VoteFoldOptions {
  ledgerId: number;
  /** The governance ledger's origin: signed votes are bound to it. */
  origin: string;
  /** Live, GovernanceService checked each signature before appending; replay checks them here. */
  checkSignatures: boolean;
}

/** A vote to write: the row, and the balance its voter took back from its delegate. */
type NewVote = ProjectedVote & { ownBalance: bigint };

/** One vote's row of the read: its proposal, and its voter's state at that proposal's snapshot. */
interface VoteRow extends VotingProposal {
  ord: string;
  already: boolean;
  at_balance: string | null;
  at_delegate: string | null;
  at_power: string | null;
  at_reclaimed: string | null;
  /** The voter's delegate's vote on the proposal, if it has voted. */
  dv_choice: VoteChoice | null;
  dv_power: string | null;
  dv_weight: string | null;
}

/** A vote whose power a delegator's own vote reduces. */
interface Reducible {
  proposalId: string;
  voter: string;
  choice: VoteChoice;
  power: bigint;
  weight: bigint;
}

interface Tally {
  power: Record<VoteChoice, bigint>;
  weight: Record<VoteChoice, bigint>;
  voters: number;
}

const PROPOSAL_COLUMNS = `p.id, p.idx, p.voting_type, p.vote_start_ms, p.vote_end_ms, p.snapshot, p.canceled_idx`;
const CHOICES: VoteChoice[] = ['FOR', 'AGAINST', 'ABSTAIN'];
const big = (v: unknown): bigint => BigInt((v as string | null) ?? 0);
const key = (proposalId: string, voter: string) => `${proposalId}\u0000${voter}`;

/**
 * Each vote with its proposal and its voter's state at the proposal's snapshot: balance, delegate,
 * power, and what delegators who voted themselves took back from it. `$1..$2` are the votes'
 * proposals and voters, in order; a vote on an unknown proposal has no row.
 */
const READ_VOTES = `
  SELECT s.*, dv.choice AS dv_choice, dv.power AS dv_power, dv.weight AS dv_weight FROM (
    SELECT v.ord, ${PROPOSAL_COLUMNS},
      EXISTS (SELECT 1 FROM gov_votes WHERE proposal_id = p.id AND voter = v.voter) AS already,
      (SELECT balance FROM gov_balance_history WHERE account = v.voter AND idx < p.snapshot ORDER BY idx DESC LIMIT 1) AS at_balance,
      (SELECT delegate FROM gov_delegate_history WHERE account = v.voter AND idx < p.snapshot ORDER BY idx DESC LIMIT 1) AS at_delegate,
      (SELECT power FROM gov_power_history WHERE account = v.voter AND idx < p.snapshot ORDER BY idx DESC LIMIT 1) AS at_power,
      (SELECT coalesce(sum(own_balance), 0) FROM gov_votes WHERE proposal_id = p.id AND delegate_at_snapshot = v.voter) AS at_reclaimed
    FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(proposal_id, voter, ord)
    JOIN gov_proposals p ON p.id = v.proposal_id
  ) s LEFT JOIN gov_votes dv ON dv.proposal_id = s.id AND dv.voter = s.at_delegate`;

/**
 * Projects a run of consecutive votes with one read and one write however many it holds: the
 * votes of one group commit (dozens, under load) would otherwise cost two round trips each under
 * the ledger's head lock. Each vote is still decided in ledger order against the state the votes
 * before it left — already voted, power its delegators took back, its delegate's vote reduced —
 * so the outcome is exactly that of projecting them one at a time, as replay does.
 */
export async function projectVotes(tx: EntityManager, events: readonly LedgerEvent[], o: VoteFoldOptions): Promise<ProjectedVote[]> {
  const votes = events.map((e) => e.payload as GovernancePayloads['VoteCast']);
  const rows = await readVotes(tx, votes.map((v) => v.proposalId), votes.map((v) => v.voter));
  // What depends on the proposal alone is known before any snapshot is fixed; each vote's
  // refusal is raised in its turn below, so the first bad vote in ledger order is the one reported.
  const refusals = events.map((e, i) => refusalOf(votes[i]!, rows.get(i), e, o));

  // A proposal's first vote fixes its snapshot; its voters' state could not be read before that.
  const unsnapshotted = new Map<string, VotingProposal>();
  for (const [i, r] of rows) if (r.snapshot === null && !refusals[i]) unsnapshotted.set(r.id, r);
  if (unsnapshotted.size > 0) {
    for (const p of unsnapshotted.values()) await fixSnapshot(tx, o.ledgerId, p);
    const again = [...rows.entries()].filter(([, r]) => unsnapshotted.has(r.id));
    const reread = await readVotes(tx, again.map(([, r]) => r.id), again.map(([i]) => votes[i]!.voter));
    again.forEach(([i], n) => rows.set(i, reread.get(n)!));
  }

  const cast = new Map<string, NewVote>();
  /** Delegates' votes already in the table whose power this run reduces. */
  const reduced = new Map<string, Reducible>();
  /** Own balances of this run's voters, by proposal and the delegate they took them back from. */
  const reclaimed = new Map<string, bigint>();
  const tallies = new Map<string, Tally>();
  const tally = (id: string): Tally => {
    let t = tallies.get(id);
    if (!t) tallies.set(id, (t = { power: { FOR: 0n, AGAINST: 0n, ABSTAIN: 0n }, weight: { FOR: 0n, AGAINST: 0n, ABSTAIN: 0n }, voters: 0 }));
    return t;
  };
  const answers: ProjectedVote[] = [];

  for (const [i, e] of events.entries()) {
    const v = votes[i]!;
    if (refusals[i]) throw refusals[i];
    const p = rows.get(i)!;
    if (p.already || cast.has(key(p.id, v.voter))) throw new ChainproofError('ALREADY_VOTED', `${v.voter} has voted on ${p.id} already`);
    const quadratic = p.voting_type === 'QUADRATIC';
    const weightOf = (power: bigint) => (quadratic ? quadraticWeight(power) : power);
    const own = big(p.at_balance);
    const delegate = p.at_delegate ?? null;
    // Delegator override: a delegator who votes takes its own weight back from its delegate.
    let power = big(p.at_power) - big(p.at_reclaimed) - (reclaimed.get(key(p.id, v.voter)) ?? 0n);
    if (delegate !== null) {
      power += own;
      const k = key(p.id, delegate);
      reclaimed.set(k, (reclaimed.get(k) ?? 0n) + own);
      // A delegate that has voted (before this run, or earlier in it) loses that weight.
      const dv: Reducible | undefined =
        cast.get(k) ?? reduced.get(k) ?? (p.dv_choice === null ? undefined : { proposalId: p.id, voter: delegate, choice: p.dv_choice, power: big(p.dv_power), weight: big(p.dv_weight) });
      if (dv && own !== 0n) {
        const t = tally(p.id);
        const after = { power: dv.power - own, weight: weightOf(dv.power - own) };
        t.power[dv.choice] += after.power - dv.power;
        t.weight[dv.choice] += after.weight - dv.weight;
        Object.assign(dv, after);
        if (!cast.has(k)) reduced.set(k, dv);
      }
    }
    if (power <= 0n) {
      throw new ChainproofError('NO_VOTING_POWER', `${v.voter} had no voting power at the snapshot (leaf ${p.snapshot}) of ${p.id}`);
    }
    const vote: ProjectedVote = {
      proposalId: p.id, voter: v.voter, choice: v.choice, power, weight: weightOf(power), quadratic, delegateAtSnapshot: delegate,
      reason: v.reason ?? null, signature: v.signature ?? null, index: e.index, eventId: e.id,
    };
    // The caller is answered with the vote as cast; a delegator later in this run may still reduce the row.
    answers.push(vote);
    cast.set(key(p.id, v.voter), { ...vote, ownBalance: own });
    const t = tally(p.id);
    t.power[vote.choice] += vote.power;
    t.weight[vote.choice] += vote.weight;
    t.voters++;
  }
  await writeVotes(tx, [...cast.values()], [...reduced.values()], tallies);
  return answers;
}

/** Why a vote is refused on its proposal and signature alone: unknown, canceled, closed, forged; or undefined. */
function refusalOf(v: GovernancePayloads['VoteCast'], p: VoteRow | undefined, e: LedgerEvent, o: VoteFoldOptions): ChainproofError | undefined {
  if (!p) return new ChainproofError('NOT_FOUND', `no proposal ${v.proposalId}`);
  const now = e.hlc.physicalMs;
  if (p.canceled_idx !== null) return new ChainproofError('PROPOSAL_STATE', `proposal ${p.id} was canceled`);
  if (now < Number(p.vote_start_ms) || now >= Number(p.vote_end_ms)) {
    return new ChainproofError('VOTING_CLOSED', `voting on ${p.id} is open from ${new Date(Number(p.vote_start_ms)).toISOString()} until ${new Date(Number(p.vote_end_ms)).toISOString()}`);
  }
  if (o.checkSignatures && v.signature !== undefined && !voteSignatureValid({ origin: o.origin, proposalId: p.id, voter: v.voter, choice: v.choice, reason: v.reason }, v.signature)) {
    return new ChainproofError('BAD_SIGNATURE', `the vote's signature is not ${v.voter}'s over this vote`);
  }
  return undefined;
}

/**
 * The snapshot is the first leaf written at or after the moment voting opened: power is read
 * from everything before it. It depends only on the ledger's content, so replay finds the same
 * one, and later appends cannot move it.
 */
async function fixSnapshot(tx: EntityManager, ledgerId: number, p: VotingProposal): Promise<void> {
  const [first] = await tx.query(
    `SELECT idx FROM events WHERE ledger_id = $1 AND idx > $2 AND hlc_ms >= $3 ORDER BY idx LIMIT 1`,
    [ledgerId, p.idx, p.vote_start_ms],
  );
  if (!first) throw new ChainproofError('INTERNAL', `proposal ${p.id}: no event after its voting opened`);
  const [s] = await tx.query(`SELECT supply FROM gov_supply_history WHERE idx < $1 ORDER BY idx DESC LIMIT 1`, [first.idx]);
  await tx.query(`UPDATE gov_proposals SET snapshot = $2, supply_at_snapshot = $3 WHERE id = $1`, [p.id, first.idx, big(s?.supply).toString()]);
}

/** The read, by the vote's position in the run. */
async function readVotes(tx: EntityManager, proposals: string[], voters: string[]): Promise<Map<number, VoteRow>> {
  const rows: VoteRow[] = await tx.query(READ_VOTES, [proposals, voters]);
  return new Map(rows.map((r) => [Number(r.ord) - 1, r]));
}

/** One statement: the new votes, the delegates' votes reduced, and each proposal's tally moved. */
async function writeVotes(
  tx: EntityManager,
  cast: NewVote[],
  reduced: Reducible[],
  tallies: Map<string, Tally>,
): Promise<void> {
  const str = (b: bigint) => b.toString();
  const t = [...tallies.entries()];
  await tx.query(
    `WITH cast_votes AS (
       INSERT INTO gov_votes (proposal_id, voter, choice, power, weight, delegate_at_snapshot, own_balance, reason, signature, idx, event_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::text[], $7::numeric[], $8::text[], $9::text[], $10::bigint[], $11::bytea[])
     ), reduced AS (
       UPDATE gov_votes g SET power = r.power, weight = r.weight
         FROM unnest($12::text[], $13::text[], $14::numeric[], $15::numeric[]) AS r(proposal_id, voter, power, weight)
        WHERE g.proposal_id = r.proposal_id AND g.voter = r.voter
     )
     UPDATE gov_proposals p SET for_power = p.for_power + t.for_power, for_weight = p.for_weight + t.for_weight,
            against_power = p.against_power + t.against_power, against_weight = p.against_weight + t.against_weight,
            abstain_power = p.abstain_power + t.abstain_power, abstain_weight = p.abstain_weight + t.abstain_weight,
            voters = p.voters + t.voters
       FROM unnest($16::text[], $17::numeric[], $18::numeric[], $19::numeric[], $20::numeric[], $21::numeric[], $22::numeric[], $23::int[])
         AS t(id, for_power, for_weight, against_power, against_weight, abstain_power, abstain_weight, voters)
      WHERE p.id = t.id`,
    [
      cast.map((v) => v.proposalId), cast.map((v) => v.voter), cast.map((v) => v.choice), cast.map((v) => str(v.power)),
      cast.map((v) => str(v.weight)), cast.map((v) => v.delegateAtSnapshot), cast.map((v) => str(v.ownBalance)),
      cast.map((v) => v.reason), cast.map((v) => v.signature), cast.map((v) => v.index), cast.map((v) => Buffer.from(v.eventId, 'hex')),
      reduced.map((r) => r.proposalId), reduced.map((r) => r.voter), reduced.map((r) => str(r.power)), reduced.map((r) => str(r.weight)),
      t.map(([id]) => id), ...CHOICES.flatMap((c) => [t.map(([, x]) => str(x.power[c])), t.map(([, x]) => str(x.weight[c]))]), t.map(([, x]) => x.voters),
    ],
  );
}
