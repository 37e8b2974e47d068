import { Field, Int, ObjectType } from 'type-graphql';
import { SafeInt } from './scalars.js';

@ObjectType({ description: 'A mined block: events [startIndex, treeSize). `hash` = SHA-256 of the canonical header.' })
export class Block {
  @Field(() => SafeInt) height!: number;
  @Field({ description: 'Position for `blocks(after:)` and `blockMined(after:)`.' }) cursor!: string;
  @Field() hash!: string;
  @Field() previousHash!: string;
  @Field({ description: 'Merkle root of this block\'s own events.' }) eventsRoot!: string;
  @Field(() => SafeInt) startIndex!: number;
  @Field(() => SafeInt) treeSize!: number;
  @Field({ description: 'Merkle root of the whole log after this block.' }) treeRoot!: string;
  @Field(() => SafeInt, { description: 'Milliseconds since the epoch.' }) timestamp!: number;
  @Field(() => Int, { description: 'Leading zero bits the hash must have.' }) difficulty!: number;
  @Field(() => SafeInt) nonce!: number;
  @Field(() => Int) miningMs!: number;
  @Field(() => Int) eventCount!: number;
}
