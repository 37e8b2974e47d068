import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar, SafeInt } from './scalars.js';
import { connection } from './connection.js';

export enum VotingTypeEnum {
  WEIGHTED = 'WEIGHTED',
  QUADRATIC = 'QUADRATIC',
}
export enum VoteChoiceEnum {
  FOR = 'FOR',
  AGAINST = 'AGAINST',
  ABSTAIN = 'ABSTAIN',
}
export enum ProposalStateEnum {
  PENDING = 'PENDING',
  ACTIVE = 'ACTIVE',
  CANCELED = 'CANCELED',
  DEFEATED = 'DEFEATED',
  SUCCEEDED = 'SUCCEEDED',
  QUEUED = 'QUEUED',
  EXPIRED = 'EXPIRED',
  EXECUTED = 'EXECUTED',
}
export enum ProposalOrder {
  NEWEST = 'NEWEST',
  OLDEST = 'OLDEST',
}
registerEnumType(VotingTypeEnum, { name: 'VotingType', description: 'WEIGHTED: one token, one vote. QUADRATIC: √(voting power) per voter.' });
registerEnumType(VoteChoiceEnum, { name: 'VoteChoice' });
registerEnumType(ProposalStateEnum, { name: 'ProposalState', description: 'Computed from ledger time and the recorded tallies.' });
registerEnumType(ProposalOrder, { name: 'ProposalOrder' });

export const AMOUNT = 'Whole tokens as a decimal string (amounts are exact integers of any size).';

@ObjectType()
export class BalanceChange {
  @Field(() => SafeInt, { description: 'Leaf index of the event that made the change.' }) index!: number;
  @Field() eventId!: string;
  @Field({ description: 'mint, burn, transfer-in or transfer-out' }) kind!: string;
  @Field({ description: 'Signed change, in whole tokens.' }) delta!: string;
  @Field({ description: 'Balance after the change.' }) balance!: string;
}
export const BalanceChangeConnection = connection(BalanceChange, 'BalanceChange');

@ObjectType({ description: 'A principal\'s tokens and voting power: a DID, or an API key\'s name.' })
export class Account {
  @Field() id!: string;
  /** The account's current row, read once per response and only when a field needs it (AccountResolver). */
  current!: () => Promise<{ balance: bigint; votingPower: bigint; delegate: string | null }>;
}

@ObjectType()
export class GovernanceReceipt {
  @Field({ description: 'The governance event written.' }) eventId!: string;
  @Field(() => SafeInt) index!: number;
  @Field(() => Account) account!: Account;
}

@ObjectType()
export class Tally {
  @Field({ description: 'Counted FOR weight: tokens, or Σ√power with six decimals for quadratic votes.' }) for!: string;
  @Field() against!: string;
  @Field() abstain!: string;
  @Field() forPower!: string;
  @Field() againstPower!: string;
  @Field() abstainPower!: string;
  @Field(() => Int) voters!: number;
  @Field({ description: 'FOR + ABSTAIN voting power reaches the quorum share of the supply at the snapshot.' }) quorumReached!: boolean;
  @Field(() => String, { nullable: true }) quorumRequired!: string | null;
}

@ObjectType()
export class Vote {
  @Field() proposalId!: string;
  @Field() voter!: string;
  @Field(() => VoteChoiceEnum) choice!: VoteChoiceEnum;
  @Field({ description: 'Voting power counted (at the snapshot, after delegator overrides).' }) power!: string;
  @Field({ description: 'Weight in the tally.' }) weight!: string;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'Hex Ed25519 signature by the voter\'s did:key over the canonical vote message.' }) signature!: string | null;
  @Field(() => String, { nullable: true }) delegateAtSnapshot!: string | null;
  @Field() eventId!: string;
  @Field(() => SafeInt) index!: number;
}
export const VoteConnection = connection(Vote, 'Vote');

@ObjectType()
export class Proposal {
  @Field({ description: 'The id of its ProposalCreated event.' }) id!: string;
  @Field(() => SafeInt) index!: number;
  @Field() proposer!: string;
  @Field() title!: string;
  @Field() description!: string;
  @Field(() => VotingTypeEnum) votingType!: VotingTypeEnum;
  @Field(() => ProposalStateEnum) state!: ProposalStateEnum;
  @Field() createdAt!: Date;
  @Field() voteStart!: Date;
  @Field() voteEnd!: Date;
  @Field(() => Float) quorum!: number;
  @Field(() => Float) threshold!: number;
  @Field(() => SafeInt, { description: 'Seconds from queueing to the earliest execution.' }) timelock!: number;
  @Field(() => SafeInt, { description: 'Seconds a queued proposal stays executable after its timelock.' }) grace!: number;
  @Field(() => JSONScalar) actions!: unknown;
  @Field(() => SafeInt, { nullable: true, description: 'Tree size whose state voting power is read from; set once voting opens.' }) snapshot!: number | null;
  @Field(() => String, { nullable: true }) supplyAtSnapshot!: string | null;
  @Field(() => Date, { nullable: true }) executableAt!: Date | null;
  @Field(() => Tally) tally!: Tally;
}
export const ProposalConnection = connection(Proposal, 'Proposal');

@InputType()
export class MintActionInput {
  @Field() to!: string;
  @Field({ description: AMOUNT }) amount!: string;
}

@InputType()
export class MintGrantInput {
  @Field() to!: string;
  @Field({ description: AMOUNT }) amount!: string;
}

@InputType()
export class SetParameterActionInput {
  @Field() ledger!: string;
  @Field({ description: 'minDifficulty, maxDifficulty, blockSize, checkpointInterval or miningReward' }) name!: string;
  @Field({ description: 'A whole number, as a decimal string.' }) value!: string;
}

@InputType({ description: 'Exactly one of the fields.' })
export class ProposalActionInput {
  @Field(() => MintActionInput, { nullable: true }) mint?: MintActionInput;
  @Field(() => SetParameterActionInput, { nullable: true }) setParameter?: SetParameterActionInput;
  @Field(() => JSONScalar, { nullable: true, description: 'Create, enable or disable a contract: {create: <CreateContractInput>} or {setActive: {id, active}}, checked like createContract.' }) rule?: unknown;
}

@InputType()
export class CreateProposalInput {
  @Field() title!: string;
  @Field({ defaultValue: '' }) description!: string;
  @Field(() => VotingTypeEnum, { defaultValue: VotingTypeEnum.WEIGHTED }) votingType!: VotingTypeEnum;
  @Field(() => SafeInt, { description: 'Seconds until voting opens.' }) votingDelay!: number;
  @Field(() => SafeInt, { description: 'Seconds voting stays open.' }) votingPeriod!: number;
  @Field(() => Float, { description: 'Fraction of the supply at the snapshot that must vote FOR or ABSTAIN.' }) quorum!: number;
  @Field(() => Float, { description: 'Fraction of FOR among FOR + AGAINST needed to pass.' }) threshold!: number;
  @Field(() => SafeInt, { description: 'Seconds between queueing and the earliest execution.' }) timelock!: number;
  @Field(() => [ProposalActionInput], { defaultValue: [] }) actions!: ProposalActionInput[];
}

@InputType()
export class CastVoteInput {
  @Field() proposalId!: string;
  @Field(() => VoteChoiceEnum) choice!: VoteChoiceEnum;
  @Field(() => String, { nullable: true }) reason?: string;
  @Field(() => String, { nullable: true, description: 'The did:key voting, when the vote carries its signature.' }) voter?: string;
  @Field(() => String, { nullable: true, description: 'Hex Ed25519 signature of the canonical vote message by `voter`.' }) signature?: string;
}

@InputType()
export class ProposalFilter {
  @Field(() => ProposalStateEnum, { nullable: true }) state?: ProposalStateEnum;
  @Field(() => String, { nullable: true }) proposer?: string;
}
