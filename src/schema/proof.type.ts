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

@ObjectType({ description: 'One leaf of a range: the exact bytes of an event as first written, and its signature if any.' })
export class RangeLeaf {
  @Field({ description: 'Base64 of the canonical (RFC 8785) envelope; its leaf hash is the event id.' }) canonical!: string;
  @Field(() => String, { nullable: true, description: 'Lowercase hex Ed25519 signature by the envelope\'s author.' })
  signature!: string | null;
}

@ObjectType({
  description:
    'Leaves [start, start + leaves.length) of the tree of treeSize, with a range proof: the hashes of the maximal subtrees ' +
    'of the RFC 9162 recursion that lie outside the range, left to right. Rebuilding the root from them and the leaves ' +
    'proves every leaf at once. What peers pull to sync.',
})
export class LeafRange {
  @Field(() => SafeInt) start!: number;
  @Field(() => SafeInt) treeSize!: number;
  @Field(() => [RangeLeaf]) leaves!: RangeLeaf[];
  @Field(() => [String]) proof!: string[];
}
