import type { EntityManager } from 'typeorm';
import type { AppendInput, LedgerEvent } from '../ledger/events/event.js';

/**
 * The governance ledger's event types and payloads. Every governance state change is one
 * of these, appended by the server (signed with its key) under subsystem `governance`;
 * the projections are a fold of them in ledger order.
 */
export const GOVERNANCE_SUBSYSTEM = 'governance';

export type VotingType = 'WEIGHTED' | 'QUADRATIC';
export type VoteChoice = 'FOR' | 'AGAINST' | 'ABSTAIN';

/** A proposal's typed actions: each has exactly one kind. */
export type ProposalAction =
  | { kind: 'mint'; to: string; amount: string }
  | { kind: 'setParameter'; ledger: string; name: LedgerParameterName; value: string }
  | { kind: 'rule'; rule: unknown };

/**
 * What another domain (rules) provides so that proposals can carry its actions: a check made at
 * proposal creation (returns what is stored), the events an execution appends (in that
 * domain's subsystem), and their projection, run in the execution's transaction.
 */
export interface RuleActionHandler {
  check(rule: unknown, field: string): unknown;
  inputs(actor: string, rule: unknown, proposalId: string): AppendInput[];
  project(tx: EntityManager, events: readonly LedgerEvent[]): Promise<void>;
}

/**
 * What another domain (rules) tells block rewards about the events it writes in response to
 * earlier ones (a contract's firing), so that a block holding nothing but what reward mints
 * set off earns no reward: a contract triggered by a reward mint would otherwise have every
 * block rewarded, for ever.
 */
export interface DerivedEvents {
  /** For each of `indices` (events of ledger `ledgerId`) written in response to an earlier event, that event's index. */
  causes(ledgerId: number, indices: readonly number[]): Promise<ReadonlyMap<number, number>>;
}

export const LEDGER_PARAMETERS = ['minDifficulty', 'maxDifficulty', 'blockSize', 'checkpointInterval', 'miningReward'] as const;
export type LedgerParameterName = (typeof LEDGER_PARAMETERS)[number];

export interface GovernancePayloads {
  TokensMinted: { to: string; amount: string; reason: string; source?: string };
  TokensTransferred: { from: string; to: string; amount: string };
  TokensBurned: { from: string; amount: string };
  DelegateChanged: { account: string; delegate: string | null };
  ProposalCreated: {
    proposer: string;
    title: string;
    description: string;
    votingType: VotingType;
    votingDelay: number;
    votingPeriod: number;
    quorumPpm: number;
    thresholdPpm: number;
    timelock: number;
    grace: number;
    actions: ProposalAction[];
    /** Set when a contract opened it: `contract:<contract id>:<trigger id>`. */
    source?: string;
  };
  VoteCast: { proposalId: string; voter: string; choice: VoteChoice; reason?: string; signature?: string };
  ProposalQueued: { proposalId: string };
  ProposalExecuted: { proposalId: string };
  ProposalCanceled: { proposalId: string };
  /** `proposalId` when a proposal changed it, `source` (`contract:<contract id>:<trigger id>`) when a contract did. */
  LedgerParameterSet: { ledger: string; name: LedgerParameterName; value: string; proposalId?: string; source?: string };
}

export type GovernanceEventType = keyof GovernancePayloads;
export const GOVERNANCE_EVENT_TYPES = [
  'TokensMinted',
  'TokensTransferred',
  'TokensBurned',
  'DelegateChanged',
  'ProposalCreated',
  'VoteCast',
  'ProposalQueued',
  'ProposalExecuted',
  'ProposalCanceled',
  'LedgerParameterSet',
] as const satisfies readonly GovernanceEventType[];

export const isGovernanceEventType = (t: string): t is GovernanceEventType => (GOVERNANCE_EVENT_TYPES as readonly string[]).includes(t);

/** What an append of a governance event carries; `resource` names what it is about. */
export interface GovernanceInput<T extends GovernanceEventType = GovernanceEventType> {
  type: T;
  actor: string;
  resource: string;
  payload: GovernancePayloads[T];
}

export function governanceInput<T extends GovernanceEventType>(type: T, actor: string, resource: string, payload: GovernancePayloads[T]): GovernanceInput<T> {
  return { type, actor, resource, payload };
}
