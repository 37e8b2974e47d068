import { Authorized, Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AppendInput } from '../ledger/events/event.js';
import { AppendEventInput, AuditEvent, EventFilter } from '../schema/event.type.js';
import { EventConnection, PageArgsInput, pageOf } from '../schema/connection.js';
import type { RequestContext } from './context.js';
import { toAuditEvent, toConnection, type AuditEventSource } from './mappers.js';
import type { EventFilter as ServiceFilter } from '../ledger/ledger-service.js';

export function toServiceFilter(f: EventFilter | undefined): ServiceFilter {
  if (!f) return {};
  const { from, to, ...rest } = f;
  // GraphQL hands a field given as null (an unset variable bound to it, say) over as null; the
  // service would match it as a value, `actor = NULL`, and find nothing.
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null && v !== undefined));
  return { ...given, fromMs: from?.getTime(), toMs: to?.getTime() };
}

/** GraphQL input objects are class instances with null-prototype quirks; the ledger wants plain data. */
function toAppendInput(i: AppendEventInput): AppendInput {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(i)) if (v !== undefined && v !== null) out[k] = v;
  if (i.hlc) out.hlc = { physicalMs: i.hlc.physicalMs, logical: i.hlc.logical };
  if (i.parents) out.parents = [...i.parents];
  return out as unknown as AppendInput;
}

@Resolver(() => AuditEvent)
export class EventResolver {
  @Authorized('reader')
  @Query(() => AuditEvent, { nullable: true })
  async event(
    @Ctx() ctx: RequestContext,
    @Arg('id') id: string,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
  ): Promise<AuditEventSource | null> {
    const e = await ctx.ledger.event(ledger, id);
    return e && toAuditEvent(e);
  }

  @Authorized('reader')
  @Query(() => EventConnection)
  async events(
    @Ctx() ctx: RequestContext,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Args() paging: PageArgsInput,
    @Arg('filter', () => EventFilter, { nullable: true }) filter?: EventFilter,
  ) {
    const page = await ctx.ledger.events(ledger, toServiceFilter(filter), pageOf(paging));
    return toConnection(page, toAuditEvent);
  }

  @Authorized('writer')
  @Mutation(() => AuditEvent)
  async appendEvent(
    @Ctx() ctx: RequestContext,
    @Arg('input') input: AppendEventInput,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
  ): Promise<AuditEventSource> {
    const [e] = await ctx.ledger.append(ledger, [toAppendInput(input)]);
    return toAuditEvent(e!);
  }

  @Authorized('writer')
  @Mutation(() => [AuditEvent], { description: 'Appends up to the batch limit (default 1,000) atomically: all or none.' })
  async appendEvents(
    @Ctx() ctx: RequestContext,
    @Arg('inputs', () => [AppendEventInput]) inputs: AppendEventInput[],
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
  ): Promise<AuditEventSource[]> {
    const events = await ctx.ledger.append(ledger, inputs.map(toAppendInput));
    return events.map(toAuditEvent);
  }

  @FieldResolver(() => Number, { nullable: true })
  blockHeight(@Root() e: AuditEventSource, @Ctx() ctx: RequestContext): Promise<number | null> {
    if (e.blockHeight !== undefined) return Promise.resolve(e.blockHeight);
    return ctx.ledger.blockHeightOf(e.ledger, e.index);
  }
}
