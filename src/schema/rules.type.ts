import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar, SafeInt } from './scalars.js';
import { connection } from './connection.js';
import { CreateProposalInput } from './governance.type.js';

export enum AlertSeverityEnum {
  INFO = 'INFO',
  WARNING = 'WARNING',
  CRITICAL = 'CRITICAL',
}
registerEnumType(AlertSeverityEnum, { name: 'AlertSeverity' });

const CEL = 'A CEL expression over `event` (id, index, type, actor, author, resource, subsystem, result, payload, hlc) and `contract` (id, name, params).';

@InputType()
export class ContractTriggerInput {
  @Field(() => [String], { description: 'Event types that trigger the contract.' }) eventTypes!: string[];
  @Field(() => String, { nullable: true, description: 'Only events of this subsystem.' }) subsystem?: string | null;
  @Field(() => String, { nullable: true, description: 'Only events of this actor.' }) actor?: string | null;
}

@InputType()
export class ContractMintTokensInput {
  @Field({ description: `Recipient. ${CEL}` }) to!: string;
  @Field({ description: `Whole tokens (int or decimal string). ${CEL}` }) amountExpr!: string;
  @Field() reason!: string;
}

@InputType()
export class ContractRaiseAlertInput {
  @Field(() => AlertSeverityEnum) severity!: AlertSeverityEnum;
  @Field() message!: string;
}

@InputType()
export class ContractAppendEventInput {
  @Field({ description: 'Type of the event appended (subsystem `rules`, signed by the server).' }) type!: string;
  @Field({ description: `The payload, a map. ${CEL}` }) payloadExpr!: string;
}

@InputType({ description: 'Changes a ledger parameter as an executed proposal does (a LedgerParameterSet event).' })
export class ContractSetParameterInput {
  @Field({ defaultValue: 'main' }) ledger!: string;
  @Field({ description: 'minDifficulty, maxDifficulty, blockSize, checkpointInterval or miningReward' }) name!: string;
  @Field({ description: `A whole number (int or decimal string). ${CEL}` }) valueExpr!: string;
}

@InputType({ description: 'Opens a governance proposal, proposed by `rules` (no voting power needed; the live-proposal cap applies).' })
export class ContractOpenProposalInput {
  @Field(() => CreateProposalInput) template!: CreateProposalInput;
}

@InputType({ description: 'Exactly one field.' })
export class ContractActionInput {
  @Field(() => ContractMintTokensInput, { nullable: true }) mintTokens?: ContractMintTokensInput | null;
  @Field(() => ContractRaiseAlertInput, { nullable: true }) raiseAlert?: ContractRaiseAlertInput | null;
  @Field(() => ContractAppendEventInput, { nullable: true }) appendEvent?: ContractAppendEventInput | null;
  @Field(() => ContractSetParameterInput, { nullable: true }) setParameter?: ContractSetParameterInput | null;
  @Field(() => ContractOpenProposalInput, { nullable: true }) openProposal?: ContractOpenProposalInput | null;
}

@InputType()
export class ContractLimitsInput {
  @Field(() => Int, { nullable: true, description: 'At most this many firings per trigger actor within windowSeconds.' }) maxFiringsPerActor?: number | null;
  @Field(() => Int, { nullable: true, description: 'Default one day.' }) windowSeconds?: number | null;
}

@InputType()
export class CreateContractInput {
  @Field() name!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => ContractTriggerInput) trigger!: ContractTriggerInput;
  @Field({ description: `Must be bool. ${CEL} Aggregates: count(type, windowSeconds), ratio(type, result, windowSeconds), sum(type, payloadField, windowSeconds), with literal arguments.` })
  condition!: string;
  @Field(() => [ContractActionInput]) actions!: ContractActionInput[];
  @Field(() => ContractLimitsInput, { nullable: true }) limits?: ContractLimitsInput | null;
  @Field(() => JSONScalar, { nullable: true, description: 'Bound as `contract.params`.' }) parameters?: Record<string, unknown> | null;
  @Field({ defaultValue: true }) active!: boolean;
}

@ObjectType()
export class ContractTrigger {
  @Field(() => [String]) eventTypes!: string[];
  @Field(() => String, { nullable: true }) subsystem!: string | null;
  @Field(() => String, { nullable: true }) actor!: string | null;
}

@ObjectType({ description: 'One action as stored; the fields of its kind are set.' })
export class ContractAction {
  @Field({ description: 'mintTokens, raiseAlert, appendEvent, setParameter or openProposal' }) kind!: string;
  @Field(() => String, { nullable: true }) to?: string;
  @Field(() => String, { nullable: true }) amountExpr?: string;
  @Field(() => String, { nullable: true }) reason?: string;
  @Field(() => AlertSeverityEnum, { nullable: true }) severity?: AlertSeverityEnum;
  @Field(() => String, { nullable: true }) message?: string;
  @Field(() => String, { nullable: true }) type?: string;
  @Field(() => String, { nullable: true }) payloadExpr?: string;
  @Field(() => String, { nullable: true }) ledger?: string;
  @Field(() => String, { nullable: true }) name?: string;
  @Field(() => String, { nullable: true }) valueExpr?: string;
  @Field(() => JSONScalar, { nullable: true, description: 'The proposal an openProposal action opens, as checked.' }) template?: unknown;
}

@ObjectType()
export class ContractLimits {
  @Field(() => Int, { nullable: true }) maxFiringsPerActor!: number | null;
  @Field(() => Int) windowSeconds!: number;
}

@ObjectType()
export class ActionOutcome {
  @Field() kind!: string;
  @Field() ok!: boolean;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => JSONScalar, { nullable: true }) detail!: unknown;
}

@ObjectType({ description: 'A firing, recorded as a ContractExecuted event whose parent is the trigger.' })
export class ContractExecution {
  @Field(() => SafeInt, { description: 'Leaf index of the ContractExecuted event.' }) index!: number;
  @Field() eventId!: string;
  @Field() contractId!: string;
  @Field() triggerId!: string;
  @Field(() => SafeInt) triggerIndex!: number;
  @Field() ok!: boolean;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Int) depth!: number;
  @Field(() => [ActionOutcome]) actions!: ActionOutcome[];
}
export const ContractExecutionConnection = connection(ContractExecution, 'ContractExecution');

@ObjectType()
export class Contract {
  @Field({ description: 'Id of its ContractCreated event.' }) id!: string;
  @Field(() => SafeInt) index!: number;
  @Field() name!: string;
  @Field() description!: string;
  @Field() active!: boolean;
  @Field() createdBy!: string;
  @Field() createdAt!: Date;
  @Field(() => ContractTrigger) trigger!: ContractTrigger;
  @Field() condition!: string;
  @Field(() => [ContractAction]) actions!: ContractAction[];
  @Field(() => ContractLimits) limits!: ContractLimits;
  @Field(() => JSONScalar) parameters!: unknown;
  @Field(() => String, { nullable: true, description: 'Which built-in contract this is, for those the server installed at its first start.' }) builtin!: string | null;
  @Field({ description: 'True for contracts created by this version on: a condition that evaluates to another type than bool fails the execution. False for older ones, on which it does not fire.' })
  boolCondition!: boolean;
}
export const ContractConnection = connection(Contract, 'Contract');

@ObjectType()
export class Alert {
  @Field({ description: 'Id of the AlertRaised event.' }) eventId!: string;
  @Field(() => SafeInt) index!: number;
  @Field({ description: 'Cursor to resume the subscription after this alert.' }) cursor!: string;
  @Field() contractId!: string;
  @Field({ description: 'Id of the event that triggered the firing.' }) triggerId!: string;
  @Field(() => AlertSeverityEnum) severity!: AlertSeverityEnum;
  @Field() message!: string;
  @Field() raisedAt!: Date;
}
