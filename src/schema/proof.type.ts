import { Field, ObjectType } from 'type-graphql';
import { Checkpoint } from './checkpoint.type.js';
import { SafeInt } from './scalars.js';

@ObjectType({ description: 'RFC 9162 §2.1.3 inclusion proof; hashes lowercase hex, leaf to root.' })
export class InclusionProof {
  @Field(() => SafeInt) leafIndex!: number;
  @Field(() => SafeInt) treeSize!: number;
  @Field() leafHash!: string;
  @Field(() => [String]) hashes!: string[];
  @Field() rootHash!: string;
  @Field(() => Checkpoint, { nullable: true, description: 'The signed checkpoint of this tree size, if there is one.' })
  checkpoint!: Checkpoint | null;
}

@ObjectType({ description: 'RFC 9162 §2.1.4 consistency proof between two tree sizes.' })
export class ConsistencyProof {
  @Field(() => SafeInt) fromSize!: number;
  @Field(() => SafeInt) toSize!: number;
  @Field(() => [String]) hashes!: string[];
  @Field() fromRoot!: string;
  @Field() toRoot!: string;
}
