/** A proposal's lifecycle, computed from ledger time and its recorded tallies, never stored. */
export const PROPOSAL_STATES = ['PENDING', 'ACTIVE', 'CANCELED', 'DEFEATED', 'SUCCEEDED', 'QUEUED', 'EXPIRED', 'EXECUTED'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

export interface ProposalClock {
  voteStartMs: number;
  voteEndMs: number;
  timelockS: number;
  graceS: number;
  canceled: boolean;
  executed: boolean;
  queuedMs: number | null;
}

export interface ProposalCount {
  quorumPpm: number;
  thresholdPpm: number;
  /** Token supply at the snapshot (null before one exists: nobody can have voted). */
  supplyAtSnapshot: bigint | null;
  forWeight: bigint;
  againstWeight: bigint;
  forPower: bigint;
  abstainPower: bigint;
}

/**
 * Quorum counts the raw voting power of FOR and ABSTAIN against the supply at the snapshot;
 * approval compares counted weights (√power for quadratic votes) of FOR against FOR + AGAINST.
 */
export function quorumReached(c: ProposalCount): boolean {
  const supply = c.supplyAtSnapshot ?? 0n;
  return (c.forPower + c.abstainPower) * 1_000_000n >= BigInt(c.quorumPpm) * supply && (c.quorumPpm === 0 || supply > 0n);
}

export function succeeded(c: ProposalCount): boolean {
  const cast = c.forWeight + c.againstWeight;
  return quorumReached(c) && c.forWeight > 0n && c.forWeight * 1_000_000n >= BigInt(c.thresholdPpm) * cast;
}

/**
 * @example proposalState(p, Date.now()) // 'ACTIVE' while votes are open
 */
export function proposalState(clock: ProposalClock, count: ProposalCount, nowMs: number): ProposalState {
  if (clock.canceled) return 'CANCELED';
  if (clock.executed) return 'EXECUTED';
  if (nowMs < clock.voteStartMs) return 'PENDING';
  if (nowMs < clock.voteEndMs) return 'ACTIVE';
  if (!succeeded(count)) return 'DEFEATED';
  if (clock.queuedMs === null) return 'SUCCEEDED';
  if (nowMs > clock.queuedMs + (clock.timelockS + clock.graceS) * 1000) return 'EXPIRED';
  return 'QUEUED';
}

/** When a queued proposal may first be executed. */
export const executableAtMs = (clock: ProposalClock): number | null => (clock.queuedMs === null ? null : clock.queuedMs + clock.timelockS * 1000);
