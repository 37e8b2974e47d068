import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Block } from './block.type.js';
import { Checkpoint } from './checkpoint.type.js';
import { connection } from './connection.js';
import { AuditEvent } from './event.type.js';
import type { ReadBound } from '../provenance/as-of.js';
import type { SuccessorScope } from '../provenance/model.js';
import { JSONScalar, SafeInt } from './scalars.js';

export enum Lifecycle {
  PROPOSED = 'PROPOSED',
  ACCEPTED = 'ACCEPTED',
  DEPRECATED = 'DEPRECATED',
  REJECTED = 'REJECTED',
}
registerEnumType(Lifecycle, { name: 'Lifecycle' });

export enum ProvenanceFormat {
  PROV_JSON = 'PROV_JSON',
}
registerEnumType(ProvenanceFormat, { name: 'ProvenanceFormat', description: 'PROV_JSON: W3C PROV-JSON.' });

// Read types resolve plain fields without type-graphql's middleware stack: a 1,000-line trace has
// tens of thousands of them, and none needs auth of its own (the query field above them has it).
@ObjectType({ description: 'Fields every provenance record shares.', simpleResolvers: true })
abstract class RecordedFields {
  @Field({ description: 'The account that recorded it (the event\'s actor).' }) recordedBy!: string;
  @Field({ description: 'When its event was appended (HLC physical clock).' }) time!: Date;
  @Field({ description: 'The ledger event that recorded it; an inclusion proof of this id backs the record.' }) eventId!: string;
  @Field(() => SafeInt) eventIndex!: number;
}

@ObjectType({ description: 'Where assertions come from, named by the SHA-256 of its content.', simpleResolvers: true })
export class Source extends RecordedFields {
  @Field() contentHash!: string;
  @Field() locator!: string;
  @Field(() => String, { nullable: true }) mediaType!: string | null;
}

@ObjectType({ description: '`hash` (its id) is SHA-256 of RFC 8785 {subject, predicate, value, lifecycle, confidence, sourceHash, supersedes?}.', simpleResolvers: true })
export class Assertion extends RecordedFields {
  @Field() hash!: string;
  @Field() subject!: string;
  @Field() predicate!: string;
  @Field(() => JSONScalar) value!: unknown;
  @Field(() => Lifecycle) lifecycle!: Lifecycle;
  @Field(() => Float) confidence!: number;
  @Field() sourceHash!: string;
  @Field(() => String, { nullable: true }) supersedes!: string | null;
  /** Resolved by AssertionResolver: undefined when the read left it out. */
  supersededBy?: string | null;
  successorScope?: SuccessorScope;
}

@ObjectType({ simpleResolvers: true })
export class Contribution {
  @Field() assertionHash!: string;
  @Field(() => Float) weight!: number;
  @Field({ description: 'Content hash of the cited assertion\'s source.' }) sourceHash!: string;
  @Field(() => Assertion) assertion!: Assertion;
  @Field(() => Source, { nullable: true }) source!: Source | null;
}

@ObjectType({ description: 'A recorded query: what an agent asked, what it got, and which assertions contributed.', simpleResolvers: true })
export class QueryAudit extends RecordedFields {
  @Field() ledger!: string;
  @Field() queryId!: string;
  @Field() agentId!: string;
  @Field() subject!: string;
  @Field() predicate!: string;
  @Field(() => String, { nullable: true }) lens!: string | null;
  @Field(() => [Lifecycle], { nullable: true }) lifecycleFilter!: Lifecycle[] | null;
  @Field(() => JSONScalar) result!: unknown;
  @Field({ description: 'SHA-256 of the RFC 8785 form of `result`, computed by the server.' }) resultHash!: string;
  @Field(() => Float, { nullable: true }) resultConfidence!: number | null;
  @Field(() => [Contribution]) contributingAssertions!: Contribution[];
  /** Not a field: a past read's bound, which its `proof` keeps to. */
  readBound?: ReadBound;
}

export const QueryAuditConnection = connection(QueryAudit, 'QueryAudit');

@ObjectType()
export class Trace {
  @Field() agent!: string;
  @Field() since!: Date;
  @Field({ description: 'The end of the window as asked; when none was, every audit up to the newest is in it, and this is the later of the server\'s now and the newest line\'s time.' }) until!: Date;
  @Field(() => [QueryAudit], { description: 'Oldest first. Select `proof` for each line\'s inclusion proof.' }) lines!: QueryAudit[];
  @Field({ description: 'More lines matched than `first`.' }) truncated!: boolean;
}

@ObjectType()
export class ProvenanceLink {
  @Field(() => Int, { description: '0 is the asked-for assertion, 1 the one it superseded, and so on.' }) depth!: number;
  @Field(() => Assertion) assertion!: Assertion;
  @Field(() => Source, { nullable: true }) source!: Source | null;
  @Field(() => AuditEvent, { description: 'The event that recorded the assertion.' }) event!: AuditEvent;
  @Field(() => Block, { nullable: true, description: 'The mined block holding that event; null while pending.' }) block!: Block | null;
}

@ObjectType()
export class ProvenanceChain {
  @Field(() => Assertion) assertion!: Assertion;
  @Field(() => [ProvenanceLink]) links!: ProvenanceLink[];
  @Field(() => Checkpoint, { nullable: true, description: 'The latest checkpoint (as of the read) that covers every link.' })
  checkpoint!: Checkpoint | null;
  @Field() truncated!: boolean;
}

@ObjectType()
export class ProvenanceExport {
  @Field(() => ProvenanceFormat) format!: ProvenanceFormat;
  @Field(() => JSONScalar) document!: unknown;
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@InputType()
export class SourceInput {
  @Field() locator!: string;
  @Field({ description: '64 hex characters: SHA-256 of the content.' }) contentHash!: string;
  @Field(() => String, { nullable: true }) mediaType?: string | null;
}

@InputType()
export class AssertionInput {
  @Field() subject!: string;
  @Field() predicate!: string;
  @Field(() => JSONScalar) value!: unknown;
  @Field(() => Lifecycle) lifecycle!: Lifecycle;
  @Field(() => Float, { description: '0..1' }) confidence!: number;
  @Field({ description: 'contentHash of a recorded source.' }) sourceHash!: string;
  @Field(() => String, { nullable: true }) supersedes?: string | null;
}

@InputType()
export class ContributionInput {
  @Field() assertionHash!: string;
  @Field(() => Float, { description: '0..1' }) weight!: number;
}

@InputType()
export class QueryAuditInput {
  @Field(() => String, { nullable: true, description: 'Generated when absent; unique per ledger.' }) queryId?: string | null;
  @Field() agentId!: string;
  @Field() subject!: string;
  @Field() predicate!: string;
  @Field(() => String, { nullable: true }) lens?: string | null;
  @Field(() => [Lifecycle], { nullable: true }) lifecycleFilter?: Lifecycle[] | null;
  @Field(() => JSONScalar) result!: unknown;
  @Field(() => Float, { nullable: true }) resultConfidence?: number | null;
  @Field(() => [ContributionInput], { description: 'Every assertion must be recorded already.' })
  contributingAssertions!: ContributionInput[];
}

@InputType()
export class QueryAuditFilter {
  @Field(() => String, { nullable: true }) queryId?: string | null;
  @Field(() => String, { nullable: true }) agent?: string | null;
  @Field(() => String, { nullable: true, description: 'Glob: * within a path segment, ** across segments, ? one character.' })
  subject?: string | null;
  @Field(() => String, { nullable: true }) predicate?: string | null;
  @Field(() => String, { nullable: true }) lens?: string | null;
  @Field(() => Date, { nullable: true }) from?: Date | null;
  @Field(() => Date, { nullable: true }) to?: Date | null;
}

@InputType({ description: 'Read the state as it was: give exactly one.' })
export class AsOfInput {
  @Field(() => SafeInt, { nullable: true }) treeSize?: number | null;
  @Field(() => SafeInt, { nullable: true }) blockHeight?: number | null;
  @Field(() => Date, { nullable: true }) time?: Date | null;
}
