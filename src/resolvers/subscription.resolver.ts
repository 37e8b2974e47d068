import { Authorized, Arg, Resolver, Root, Subscription } from 'type-graphql';
import type { BlockRow, CheckpointRow } from '../ledger/entities/index.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { AuditEvent, EventFilter } from '../schema/event.type.js';
import { Block } from '../schema/block.type.js';
import { Checkpoint } from '../schema/checkpoint.type.js';
import type { RequestContext } from './context.js';
import { toAuditEvent, toBlock, toCheckpoint, type AuditEventSource } from './mappers.js';
import { toServiceFilter } from './event.resolver.js';
import { matchesFilter } from '../ledger/event-filter.js';

type Args<T> = { args: T; context: RequestContext };

@Resolver()
export class SubscriptionResolver {
  @Authorized('reader')
  @Subscription(() => AuditEvent, {
    description: 'Events as they commit.',
    subscribe: ({ args, context }: Args<{ ledger: string; filter?: EventFilter }>) => {
      const filter = toServiceFilter(args.filter ?? undefined);
      return context.ledger.subscribe('event', args.ledger, (e) => matchesFilter(e, filter));
    },
  })
  auditEvent(
    @Root() e: LedgerEvent,
    @Arg('ledger', { defaultValue: 'main' }) _ledger: string,
    @Arg('filter', () => EventFilter, { nullable: true }) _filter?: EventFilter,
  ): AuditEventSource {
    return toAuditEvent(e);
  }

  @Authorized('reader')
  @Subscription(() => Block, {
    subscribe: ({ args, context }: Args<{ ledger: string }>) => context.ledger.subscribe('block', args.ledger),
  })
  blockMined(@Root() b: BlockRow, @Arg('ledger', { defaultValue: 'main' }) _ledger: string): Block {
    return toBlock(b);
  }

  @Authorized('reader')
  @Subscription(() => Checkpoint, {
    subscribe: ({ args, context }: Args<{ ledger: string }>) => context.ledger.subscribe('checkpoint', args.ledger),
  })
  checkpointCreated(@Root() c: CheckpointRow, @Arg('ledger', { defaultValue: 'main' }) _ledger: string): Checkpoint {
    return toCheckpoint(c);
  }
}
