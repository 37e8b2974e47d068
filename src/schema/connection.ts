import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { AuditEvent } from './event.type.js';
import { Block } from './block.type.js';
import { Checkpoint } from './checkpoint.type.js';

@ObjectType()
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field() hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

/** Relay connection types share one shape; one factory makes each. */
export function connection<T extends object>(node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field() cursor!: string;
    @Field(() => node) node!: T;
  }
  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
  }
  return Connection;
}

export const EventConnection = connection(AuditEvent, 'Event');
export const BlockConnection = connection(Block, 'Block');
export const CheckpointConnection = connection(Checkpoint, 'Checkpoint');

/** Relay paging arguments, shared by every connection field. */
@ArgsType()
export class PageArgsInput {
  @Field(() => Int, { nullable: true }) first?: number;
  @Field(() => String, { nullable: true }) after?: string;
  @Field(() => Int, { nullable: true }) last?: number;
  @Field(() => String, { nullable: true }) before?: string;
}

/** GraphQL hands absent arguments over as null; the services want undefined. */
export const pageOf = (a: PageArgsInput) => ({
  first: a.first ?? undefined,
  after: a.after ?? undefined,
  last: a.last ?? undefined,
  before: a.before ?? undefined,
});
