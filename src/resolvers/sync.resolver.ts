import { Arg, Authorized, Ctx, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { PeerSyncResult, SyncPeer, SyncStatus } from '../schema/sync.type.js';
import type { PeerView, SyncStatusView } from '../sync/sync-service.js';
import type { RequestContext } from './context.js';

@Resolver()
export class SyncResolver {
  @Authorized('reader')
  @Query(() => SyncStatus)
  syncStatus(@Ctx() ctx: RequestContext): Promise<SyncStatusView> {
    return ctx.sync.status();
  }

  @Authorized('writer')
  @Mutation(() => [PeerSyncResult], { description: 'Syncs with one peer (URL or origin), or with all; answers when done.' })
  syncNow(@Ctx() ctx: RequestContext, @Arg('peer', () => String, { nullable: true }) peer?: string | null) {
    return ctx.sync.syncNow(peer ?? undefined);
  }

  @Authorized('admin')
  @Mutation(() => SyncPeer, { description: "Adds a peer: its GraphQL URL and its Ledger.verifierKey, pinned." })
  createPeer(@Ctx() ctx: RequestContext, @Arg('url') url: string, @Arg('verifierKey') verifierKey: string): Promise<PeerView> {
    return ctx.sync.createPeer(url, verifierKey);
  }
}

@Resolver()
export class SyncSubscriptionResolver {
  @Authorized('reader')
  @Subscription(() => SyncPeer, {
    description: "A peer's sync status each time it changes.",
    subscribe: ({ context }: { context: RequestContext }) => context.sync.subscribe(),
  })
  syncUpdated(@Root() p: PeerView): PeerView {
    return p;
  }
}
