import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { SafeInt } from './scalars.js';

@ObjectType({ description: 'A named, append-only log with its own Merkle tree, blocks and checkpoints.' })
export class Ledger {
  @Field() name!: string;
  @Field({ description: 'Unique across deployments; the first line of every checkpoint and the `ledger` of every envelope.' })
  origin!: string;
  @Field({ description: 'sha256 or blake3, fixed for the ledger\'s life.' }) hashAlg!: string;
  @Field(() => Int) blockSize!: number;
  @Field(() => Int) maxBlockIntervalMs!: number;
  @Field(() => Int) minDifficulty!: number;
  @Field(() => Int) maxDifficulty!: number;
  @Field(() => Int) initialDifficulty!: number;
  @Field(() => Int) targetBlockMs!: number;
  @Field(() => Int) retargetBlocks!: number;
  @Field(() => Int) checkpointInterval!: number;
  @Field() createdAt!: Date;
  // Resolved per request: treeSize, rootHash, tips, verifierKey (see LedgerResolver).
  @Field(() => SafeInt) treeSize!: number;
}

@InputType()
export class CreateLedgerInput {
  @Field() name!: string;
  @Field({ nullable: true }) hashAlg?: string;
  @Field(() => Int, { nullable: true }) blockSize?: number;
  @Field(() => Int, { nullable: true }) maxBlockIntervalMs?: number;
  @Field(() => Int, { nullable: true }) minDifficulty?: number;
  @Field(() => Int, { nullable: true }) maxDifficulty?: number;
  @Field(() => Int, { nullable: true }) initialDifficulty?: number;
  @Field(() => Int, { nullable: true }) targetBlockMs?: number;
  @Field(() => Int, { nullable: true }) retargetBlocks?: number;
  @Field(() => Int, { nullable: true }) checkpointInterval?: number;
}
