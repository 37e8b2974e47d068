import { Authorized, Arg, Args, Ctx, Query, Resolver } from 'type-graphql';
import { Block } from '../schema/block.type.js';
import { BlockConnection, PageArgsInput, pageOf } from '../schema/connection.js';
import { SafeInt } from '../schema/scalars.js';
import type { RequestContext } from './context.js';
import { toBlock, toConnection } from './mappers.js';
import { nonNegative } from './checks.js';

@Resolver(() => Block)
export class BlockResolver {
  @Authorized('reader')
  @Query(() => Block, { nullable: true, description: 'The block at `height`, or the latest.' })
  async block(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('height', () => SafeInt, { nullable: true }) height?: number,
  ): Promise<Block | null> {
    const b = await ctx.ledger.block(ledger, nonNegative('height', height) ?? undefined);
    return b && toBlock(b, ledger);
  }

  @Authorized('reader')
  @Query(() => BlockConnection)
  async blocks(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Args() paging: PageArgsInput,
  ) {
    const page = await ctx.ledger.blocks(ledger, pageOf(paging));
    return toConnection(page, (b) => toBlock(b, ledger));
  }
}
