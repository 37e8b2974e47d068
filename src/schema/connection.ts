import { Field, ObjectType, type ClassType } from 'type-graphql';
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
function connection<T extends object>(node: ClassType<T>, name: string) {
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
