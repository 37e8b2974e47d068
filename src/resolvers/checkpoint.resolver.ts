import { Authorized, Arg, Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { Checkpoint } from '../schema/checkpoint.type.js';
import { CheckpointConnection, PageArgsInput, pageOf } from '../schema/connection.js';
import { SafeInt } from '../schema/scalars.js';
import type { RequestContext } from './context.js';
import { toCheckpoint, toConnection } from './mappers.js';
import { nonNegative } from './checks.js';

@Resolver(() => Checkpoint)
export class CheckpointResolver {
  @Authorized('reader')
  @Query(() => Checkpoint, { nullable: true, description: 'The checkpoint at `treeSize`, or the latest.' })
  async checkpoint(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('treeSize', () => SafeInt, { nullable: true }) treeSize?: number,
  ): Promise<Checkpoint | null> {
    const c = await ctx.ledger.checkpoint(ledger, nonNegative('treeSize', treeSize) ?? undefined);
    return c && toCheckpoint(c, ledger);
  }

  @Authorized('reader')
  @Query(() => Checkpoint, {
    nullable: true,
    description: 'The newest checkpoint, first signing one at the newest mined block if that is past it: what peers sync up to.',
  })
  async syncCheckpoint(@Ctx() ctx: RequestContext, @Arg('ledger', { defaultValue: 'main' }) ledger: string): Promise<Checkpoint | null> {
    const c = await ctx.ledger.syncCheckpoint(ledger);
    return c && toCheckpoint(c, ledger);
  }

  @Authorized('reader')
  @Query(() => CheckpointConnection)
  async checkpoints(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Args() paging: PageArgsInput,
  ) {
    const page = await ctx.ledger.checkpoints(ledger, pageOf(paging));
    return toConnection(page, (c) => toCheckpoint(c, ledger));
  }

  @Authorized('writer')
  @Mutation(() => Checkpoint, { description: 'Seals pending events into a mined block and signs a checkpoint there.' })
  async createCheckpoint(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('name', () => String, { nullable: true }) name?: string,
    @Arg('tags', () => [String], { nullable: true }) tags?: string[],
  ): Promise<Checkpoint> {
    return toCheckpoint(await ctx.ledger.createCheckpoint(ledger, name ?? undefined, tags ?? []), ledger);
  }
}
