import { Field, ObjectType } from 'type-graphql';
import { SafeInt } from './scalars.js';

@ObjectType({ description: 'A signed tree head at a block boundary: a C2SP tlog-checkpoint in a C2SP signed note.' })
export class Checkpoint {
  @Field(() => SafeInt) id!: number;
  @Field({ description: 'Position for `checkpoints(after:)` and `checkpointCreated(after:)`.' }) cursor!: string;
  @Field(() => SafeInt) treeSize!: number;
  @Field() rootHash!: string;
  @Field(() => SafeInt) blockHeight!: number;
  @Field(() => SafeInt) timestamp!: number;
  @Field(() => String, { nullable: true }) name!: string | null;
  @Field(() => [String]) tags!: string[];
  @Field({ description: 'The whole signed note; check it with Ledger.verifierKey.' }) note!: string;
}
