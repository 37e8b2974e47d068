import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { JSONScalar, SafeInt } from './scalars.js';

@ObjectType({ description: 'Hybrid logical clock: wall-clock milliseconds plus a counter for ties.' })
export class Hlc {
  @Field(() => SafeInt) physicalMs!: number;
  @Field(() => Int) logical!: number;
}

@InputType()
export class HlcInput {
  @Field(() => SafeInt) physicalMs!: number;
  @Field(() => Int) logical!: number;
}

@ObjectType({ description: 'An event in a ledger. `id` is the RFC 6962 leaf hash of `canonical`.' })
export class AuditEvent {
  @Field() ledger!: string;
  @Field({ description: "Where the event was first written: the ledger's own origin, or a peer's for a synced copy." })
  origin!: string;
  @Field(() => SafeInt) index!: number;
  @Field({ description: 'Position for `events(after:)` and `auditEvent(after:)`.' }) cursor!: string;
  @Field({ description: 'Lowercase hex leaf hash H(0x00 || canonical).' }) id!: string;
  @Field({ description: 'Base64 of the exact RFC 8785 bytes that were hashed (and signed).' }) canonical!: string;
  @Field(() => String, { nullable: true }) signature!: string | null;
  @Field() type!: string;
  @Field() actor!: string;
  @Field(() => String, { nullable: true }) author!: string | null;
  @Field(() => String, { nullable: true }) resource!: string | null;
  @Field(() => String, { nullable: true }) subsystem!: string | null;
  @Field(() => JSONScalar, { nullable: true }) payload!: unknown;
  @Field(() => String, { nullable: true }) result!: string | null;
  @Field(() => String, { nullable: true }) correlationId!: string | null;
  @Field(() => [String]) parents!: string[];
  @Field(() => Hlc) hlc!: Hlc;
  @Field() appendedAt!: Date;
  @Field(() => SafeInt, { nullable: true, description: 'The mined block holding this event; null while pending.' })
  blockHeight!: number | null;
}

@InputType({ description: '`type` and `actor` are required. A signed event must carry its own `parents` and `hlc`.' })
export class AppendEventInput {
  @Field() type!: string;
  @Field() actor!: string;
  @Field({ nullable: true }) author?: string;
  @Field({ nullable: true }) resource?: string;
  @Field({ nullable: true }) subsystem?: string;
  @Field(() => JSONScalar, { nullable: true }) payload?: unknown;
  @Field({ nullable: true }) result?: string;
  @Field({ nullable: true }) correlationId?: string;
  @Field(() => [String], { nullable: true }) parents?: string[];
  @Field(() => HlcInput, { nullable: true }) hlc?: HlcInput;
  @Field({ nullable: true, description: 'Hex Ed25519 signature by `author` (did:key) over the canonical envelope.' })
  signature?: string;
  @Field({ nullable: true, description: 'A retry with the same key returns the first result.' })
  idempotencyKey?: string;
}

@InputType()
export class EventFilter {
  @Field(() => [String], { nullable: true }) types?: string[];
  @Field({ nullable: true }) actor?: string;
  @Field({ nullable: true }) author?: string;
  @Field({ nullable: true }) resource?: string;
  @Field({ nullable: true }) subsystem?: string;
  @Field({ nullable: true }) result?: string;
  @Field({ nullable: true }) correlationId?: string;
  @Field({ nullable: true, description: 'Events at or after this time (HLC physical clock).' }) from?: Date;
  @Field({ nullable: true, description: 'Events at or before this time (HLC physical clock).' }) to?: Date;
}
