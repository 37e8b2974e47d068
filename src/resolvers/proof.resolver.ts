import { Authorized, Arg, Ctx, Query, Resolver } from 'type-graphql';
import { ConsistencyProof, InclusionProof } from '../schema/proof.type.js';
import { SafeInt } from '../schema/scalars.js';
import { VerificationReport } from '../schema/verification.type.js';
import type { RequestContext } from './context.js';
import { toCheckpoint } from './mappers.js';

@Resolver()
export class ProofResolver {
  @Authorized('reader')
  @Query(() => InclusionProof, {
    description: 'Give `index` or `eventId`. Without `treeSize`: the latest checkpoint covering the event, else the current tree.',
  })
  async inclusionProof(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('index', () => SafeInt, { nullable: true }) index?: number,
    @Arg('eventId', () => String, { nullable: true }) eventId?: string,
    @Arg('treeSize', () => SafeInt, { nullable: true }) treeSize?: number,
  ): Promise<InclusionProof> {
    const p = await ctx.ledger.inclusionProof(ledger, { index: index ?? undefined, eventId: eventId ?? undefined }, treeSize ?? undefined);
    return { ...p, checkpoint: p.checkpoint && toCheckpoint(p.checkpoint) };
  }

  @Authorized('reader')
  @Query(() => ConsistencyProof, { description: 'Without `toSize`: to the current tree.' })
  consistencyProof(
    @Ctx() ctx: RequestContext,
    @Arg('fromSize', () => SafeInt) fromSize: number,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('toSize', () => SafeInt, { nullable: true }) toSize?: number,
  ): Promise<ConsistencyProof> {
    return ctx.ledger.consistencyProof(ledger, fromSize, toSize ?? undefined);
  }

  @Authorized('reader')
  @Query(() => VerificationReport, { description: 'Quick checks the head; full streams and re-checks the whole ledger.' })
  verify(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('full', { defaultValue: false }) full: boolean,
  ) {
    return ctx.ledger.verify(ledger, full);
  }
}
