import { Authorized, Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { Block } from '../schema/block.type.js';
import { BlockConnection } from '../schema/connection.js';
import { SafeInt } from '../schema/scalars.js';
import type { RequestContext } from './context.js';
import { toBlock, toConnection } from './mappers.js';

@Resolver(() => Block)
export class BlockResolver {
  @Authorized('reader')
  @Query(() => Block, { nullable: true, description: 'The block at `height`, or the latest.' })
  async block(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('height', () => SafeInt, { nullable: true }) height?: number,
  ): Promise<Block | null> {
    const b = await ctx.ledger.block(ledger, height ?? undefined);
    return b && toBlock(b);
  }

  @Authorized('reader')
  @Query(() => BlockConnection)
  async blocks(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('last', () => Int, { nullable: true }) last?: number,
    @Arg('before', () => String, { nullable: true }) before?: string,
  ) {
    const page = await ctx.ledger.blocks(ledger, {
      first: first ?? undefined,
      after: after ?? undefined,
      last: last ?? undefined,
      before: before ?? undefined,
    });
    return toConnection(page, toBlock);
  }
}
