import { Field, ObjectType } from 'type-graphql';
import { SafeInt } from './scalars.js';

@ObjectType()
export class CountBy {
  @Field() key!: string;
  @Field(() => SafeInt) count!: number;
  @Field() lastAt!: Date;
}

@ObjectType()
export class ActivitySummary {
  @Field(() => SafeInt) total!: number;
  @Field(() => [CountBy]) byActor!: CountBy[];
  @Field(() => [CountBy]) byType!: CountBy[];
  @Field(() => [CountBy]) bySubsystem!: CountBy[];
}

@ObjectType({ description: 'Failed events (result failure, failed, error, denied, rejected, timeout, aborted) of one kind.' })
export class FailureGroup {
  @Field() type!: string;
  @Field(() => String, { nullable: true }) subsystem!: string | null;
  @Field() result!: string;
  @Field(() => SafeInt) count!: number;
  @Field() lastAt!: Date;
  @Field() lastEventId!: string;
}

@ObjectType({ description: 'A subsystem that wrote before and has been quiet since.' })
export class SubsystemGap {
  @Field() subsystem!: string;
  @Field() lastAt!: Date;
  @Field(() => SafeInt) quietForMs!: number;
  @Field(() => SafeInt) events!: number;
}
