import { Field, Int, ObjectType } from 'type-graphql';
import { SafeInt } from './scalars.js';

@ObjectType()
export class VerificationIssue {
  @Field({ description: 'e.g. EVENT_HASH_MISMATCH, SEQUENCE_GAP, BLOCK_POW, CHECKPOINT_SIGNATURE' }) kind!: string;
  @Field(() => SafeInt, { nullable: true }) index?: number;
  @Field(() => SafeInt, { nullable: true }) blockHeight?: number;
  @Field(() => SafeInt, { nullable: true }) checkpointId?: number;
  @Field() message!: string;
}

@ObjectType()
export class VerificationReport {
  @Field() ledger!: string;
  @Field({ description: 'QUICK or FULL' }) mode!: string;
  @Field({ description: 'VALID or INVALID' }) status!: string;
  @Field(() => SafeInt) treeSize!: number;
  @Field(() => SafeInt) eventsVerified!: number;
  @Field(() => Int) blocksVerified!: number;
  @Field(() => Int) checkpointsVerified!: number;
  @Field(() => [VerificationIssue]) issues!: VerificationIssue[];
  @Field(() => Int) durationMs!: number;
  @Field({ description: "Whether checkpoint and server-signed event signatures were checked: with the log's verifier key only." })
  signaturesChecked!: boolean;
}

@ObjectType()
export class TypeCount {
  @Field() type!: string;
  @Field(() => SafeInt) count!: number;
}

@ObjectType()
export class LedgerStats {
  @Field() ledger!: string;
  @Field({ description: 'OK, or MINING_BEHIND when more than two blocks of events wait to be sealed.' }) status!: string;
  @Field(() => SafeInt) treeSize!: number;
  @Field() rootHash!: string;
  @Field(() => Int, { description: 'Open branches: events no other event names as a parent.' }) tips!: number;
  @Field(() => SafeInt, { description: 'Distinct authors (did:key or other) that signed or were named.' }) uniqueAuthors!: number;
  @Field(() => Int) blocks!: number;
  @Field(() => SafeInt, { nullable: true }) blockHeight!: number | null;
  @Field(() => SafeInt) pendingEvents!: number;
  @Field(() => Int) difficulty!: number;
  @Field(() => Number, { nullable: true }) averageBlockMs!: number | null;
  @Field(() => SafeInt, { nullable: true }) checkpointTreeSize!: number | null;
  @Field(() => SafeInt, { nullable: true }) checkpointBlockHeight!: number | null;
  @Field(() => [TypeCount]) eventsByType!: TypeCount[];
}
