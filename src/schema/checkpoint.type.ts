import { Field, ObjectType, registerEnumType } from 'type-graphql';
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

export enum FinalityEnum {
  FINAL = 'FINAL',
  PENDING = 'PENDING',
}
registerEnumType(FinalityEnum, { name: 'Finality', description: 'FINAL once ⌈(n+f+1)/2⌉ of the n configured validators cosigned (f = ⌊(n−1)/3⌋; 2f+1 when n = 3f+1).' });

@ObjectType({ description: 'A validator\'s C2SP tlog-cosignature on a checkpoint.' })
export class Cosignature {
  @Field({ description: 'The validator\'s cosigner verifier key.' }) witness!: string;
  @Field({ description: 'The note signature line, as it is appended to the checkpoint.' }) line!: string;
  @Field() cosignedAt!: Date;
}
