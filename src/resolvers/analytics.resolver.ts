import { Arg, Authorized, Ctx, Int, Query, Resolver } from 'type-graphql';
import { ActivitySummary, FailureGroup, SubsystemGap } from '../schema/analytics.type.js';
import { EventConnection } from '../schema/connection.js';
import type { RequestContext } from './context.js';
import { toAuditEvent, toConnection } from './mappers.js';

@Resolver()
export class AnalyticsResolver {
  @Authorized('reader')
  @Query(() => ActivitySummary, { description: 'Events since a time, counted by actor, type and subsystem.' })
  activitySummary(@Ctx() ctx: RequestContext, @Arg('since') since: Date, @Arg('ledger', { defaultValue: 'main' }) ledger: string) {
    return ctx.ledger.activitySummary(ledger, since.getTime());
  }

  @Authorized('reader')
  @Query(() => [FailureGroup], { description: 'Failed events since a time, grouped, most frequent first.' })
  failureSummary(@Ctx() ctx: RequestContext, @Arg('since') since: Date, @Arg('ledger', { defaultValue: 'main' }) ledger: string) {
    return ctx.ledger.failureSummary(ledger, since.getTime());
  }

  @Authorized('reader')
  @Query(() => [SubsystemGap], { description: 'Subsystems that have written nothing for at least `quietFor` seconds.' })
  subsystemGaps(
    @Ctx() ctx: RequestContext,
    @Arg('quietFor', () => Int, { description: 'seconds' }) quietFor: number,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
  ) {
    return ctx.ledger.subsystemGaps(ledger, quietFor * 1000);
  }

  @Authorized('reader')
  @Query(() => EventConnection, { description: 'The events of one correlation id (one cycle), in ledger order.' })
  async replay(
    @Ctx() ctx: RequestContext,
    @Arg('correlationId') correlationId: string,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const page = await ctx.ledger.events(ledger, { correlationId }, { first: first ?? undefined, after: after ?? undefined });
    return toConnection(page, toAuditEvent);
  }
}
