import type { ProposalClock, ProposalCount } from './state.js';

/** A `gov_proposals` row as the driver returns it (bigint and numeric columns as strings). */
export interface ProposalRow {
  id: string;
  idx: string;
  proposer: string;
  title: string;
  description: string;
  voting_type: 'WEIGHTED' | 'QUADRATIC';
  created_ms: string;
  vote_start_ms: string;
  vote_end_ms: string;
  quorum_ppm: number;
  threshold_ppm: number;
  timelock_s: string;
  grace_s: string;
  actions: unknown;
  snapshot: string | null;
  supply_at_snapshot: string | null;
  for_weight: string;
  against_weight: string;
  abstain_weight: string;
  for_power: string;
  against_power: string;
  abstain_power: string;
  voters: number;
  canceled_idx: string | null;
  queued_ms: string | null;
  queued_idx: string | null;
  executed_idx: string | null;
}

export function proposalClock(p: ProposalRow): ProposalClock {
  return {
    voteStartMs: Number(p.vote_start_ms),
    voteEndMs: Number(p.vote_end_ms),
    timelockS: Number(p.timelock_s),
    graceS: Number(p.grace_s),
    canceled: p.canceled_idx !== null,
    executed: p.executed_idx !== null,
    queuedMs: p.queued_ms === null ? null : Number(p.queued_ms),
  };
}

export function proposalCount(p: ProposalRow, supplyAtSnapshot?: bigint | null): ProposalCount {
  return {
    quorumPpm: p.quorum_ppm,
    thresholdPpm: p.threshold_ppm,
    supplyAtSnapshot: supplyAtSnapshot !== undefined ? supplyAtSnapshot : p.supply_at_snapshot === null ? null : BigInt(p.supply_at_snapshot),
    forWeight: BigInt(p.for_weight),
    againstWeight: BigInt(p.against_weight),
    forPower: BigInt(p.for_power),
    abstainPower: BigInt(p.abstain_power),
  };
}
