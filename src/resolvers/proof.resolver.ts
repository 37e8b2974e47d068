import { Authorized, Arg, Ctx, Query, Resolver } from 'type-graphql';
import { ConsistencyProof, InclusionProof, LeafRange } from '../schema/proof.type.js';
import { SafeInt } from '../schema/scalars.js';
import { VerificationReport } from '../schema/verification.type.js';
import { unauthenticated } from '../auth/errors.js';
import { MAX_LEAF_RANGE } from '../ledger/ledger-service.js';
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
    return { ...p, checkpoint: p.checkpoint && toCheckpoint(p.checkpoint, ledger) };
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
  @Query(() => LeafRange, { description: `Leaves [start, end) of the tree of treeSize with one range proof; at most ${MAX_LEAF_RANGE} per call.` })
  async leafRange(
    @Ctx() ctx: RequestContext,
    @Arg('start', () => SafeInt) start: number,
    @Arg('end', () => SafeInt) end: number,
    @Arg('treeSize', () => SafeInt) treeSize: number,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
  ): Promise<LeafRange> {
    const r = await ctx.ledger.leafRange(ledger, start, end, treeSize);
    ctx.sync.served(ctx.peerOrigin, r.leaves.length);
    return {
      start: r.start,
      treeSize: r.treeSize,
      leaves: r.leaves.map((l) => ({ canonical: l.canonical.toString('base64'), signature: l.signature?.toString('hex') ?? null })),
      proof: r.proof.map((h) => h.toString('hex')),
    };
  }

  @Authorized('reader')
  @Query(() => VerificationReport, {
    description: 'Quick checks the head; full streams and re-checks the whole ledger, and needs an API key (public reads or not).',
  })
  verify(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('full', { defaultValue: false }) full: boolean,
  ) {
    if (full && ctx.principal.role === null) throw unauthenticated('a full verification streams the whole ledger: it needs an API key');
    return ctx.ledger.verify(ledger, full);
  }
}
