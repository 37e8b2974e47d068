import { Arg, Authorized, Resolver, Root, Subscription } from 'type-graphql';
import type { BlockRow, CheckpointRow } from '../ledger/entities/index.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { matchesFilter } from '../ledger/event-filter.js';
import { AuditEvent, EventFilter } from '../schema/event.type.js';
import { Block } from '../schema/block.type.js';
import { Checkpoint } from '../schema/checkpoint.type.js';
import type { RequestContext } from './context.js';
import { toServiceFilter } from './event.resolver.js';
import { toAuditEvent, toBlock, toCheckpoint, type AuditEventSource } from './mappers.js';

type Args<T> = { args: T; context: RequestContext };
const AFTER = 'Replay everything after this cursor (an edge cursor or a message\'s `cursor`), then go live.';

@Resolver()
export class SubscriptionResolver {
  @Authorized('reader')
  @Subscription(() => AuditEvent, {
    description: 'Events as they commit, in ledger order; with `after`, a reconnecting client misses nothing.',
    subscribe: ({ args, context }: Args<{ ledger: string; filter?: EventFilter; after?: string }>) => {
      const filter = toServiceFilter(args.filter ?? undefined);
      return context.ledger.subscribe('event', args.ledger, {
        after: args.after ?? undefined,
        filter,
        accept: (e) => matchesFilter(e, filter),
      });
    },
  })
  auditEvent(
    @Root() e: LedgerEvent,
    @Arg('ledger', { defaultValue: 'main' }) _ledger: string,
    @Arg('filter', () => EventFilter, { nullable: true }) _filter?: EventFilter,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after?: string,
  ): AuditEventSource {
    return toAuditEvent(e);
  }

  @Authorized('reader')
  @Subscription(() => Block, {
    subscribe: ({ args, context }: Args<{ ledger: string; after?: string }>) =>
      context.ledger.subscribe('block', args.ledger, { after: args.after ?? undefined }),
  })
  blockMined(
    @Root() b: BlockRow,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after?: string,
  ): Block {
    return toBlock(b, ledger);
  }

  @Authorized('reader')
  @Subscription(() => Checkpoint, {
    subscribe: ({ args, context }: Args<{ ledger: string; after?: string }>) =>
      context.ledger.subscribe('checkpoint', args.ledger, { after: args.after ?? undefined }),
  })
  checkpointCreated(
    @Root() c: CheckpointRow,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after?: string,
  ): Checkpoint {
    return toCheckpoint(c, ledger);
  }
}
