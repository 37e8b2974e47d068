import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { LedgerEvent } from '../ledger/events/event.js';
import { encodeCursor } from '../ledger/pagination.js';
import type { RulesPayloads } from '../rules/events.js';
import type { ContractView, ExecutionView } from '../rules/rules-service.js';
import { PageArgsInput, pageOf } from '../schema/connection.js';
import { JSONScalar } from '../schema/scalars.js';
import { Alert, AlertSeverityEnum, Contract, ContractConnection, ContractExecutionConnection, CreateContractInput } from '../schema/rules.type.js';
import type { RequestContext } from './context.js';
import { toConnection } from './mappers.js';

const toContract = (c: ContractView): Contract => ({
  id: c.id,
  index: c.index,
  name: c.name,
  description: c.description,
  active: c.active,
  createdBy: c.createdBy,
  createdAt: c.createdAt,
  trigger: c.definition.trigger,
  condition: c.definition.condition,
  actions: c.definition.actions as Contract['actions'],
  limits: c.definition.limits,
  parameters: c.definition.parameters,
  builtin: c.definition.builtin ?? null,
  boolCondition: c.definition.boolCondition === true,
});

const toExecution = (x: ExecutionView) => ({
  ...x,
  depth: x.record.depth,
  actions: x.record.actions.map((a) => ({ kind: a.kind, ok: a.ok, error: a.error ?? null, detail: a.detail ?? null })),
});

@Resolver(() => Contract)
export class ContractResolver {
  @Authorized('reader')
  @Query(() => ContractConnection)
  async contracts(@Ctx() ctx: RequestContext, @Args() paging: PageArgsInput, @Arg('active', () => Boolean, { nullable: true }) active?: boolean | null) {
    return toConnection(await ctx.rules.contracts({ active: active ?? undefined }, pageOf(paging)), toContract);
  }

  @Authorized('reader')
  @Query(() => Contract, { nullable: true })
  async contract(@Ctx() ctx: RequestContext, @Arg('id') id: string): Promise<Contract | null> {
    const c = await ctx.rules.contract(id);
    return c && toContract(c);
  }

  @FieldResolver(() => ContractExecutionConnection, { description: 'Firings, oldest first.' })
  async executions(@Root() c: Contract, @Ctx() ctx: RequestContext, @Args() paging: PageArgsInput) {
    return toConnection(await ctx.rules.executions(c.id, pageOf(paging)), toExecution);
  }

  @Authorized('admin')
  @Mutation(() => Contract, { description: 'Every expression is type-checked first; a contract that does not check is refused (BAD_USER_INPUT).' })
  async createContract(@Ctx() ctx: RequestContext, @Arg('input') input: CreateContractInput): Promise<Contract> {
    const { active, ...rest } = input;
    return toContract(await ctx.rules.create(ctx.principal.account, { ...rest, actions: rest.actions.map((a) => ({ ...a })) }, active));
  }

  @Authorized('admin')
  @Mutation(() => Contract, { description: 'Replaces `contract.params` (a JSON object, checked like createContract\'s) from the next event in the ledger.' })
  async setContractParameters(@Ctx() ctx: RequestContext, @Arg('id') id: string, @Arg('parameters', () => JSONScalar) parameters: unknown): Promise<Contract> {
    return toContract(await ctx.rules.setParameters(ctx.principal.account, id, parameters));
  }

  @Authorized('admin')
  @Mutation(() => Contract, { description: 'Takes effect from the next event in the ledger.' })
  async setContractActive(@Ctx() ctx: RequestContext, @Arg('id') id: string, @Arg('active') active: boolean): Promise<Contract> {
    return toContract(await ctx.rules.setActive(ctx.principal.account, id, active));
  }
}

type SubArgs<T> = { args: T; context: RequestContext };

@Resolver()
export class RulesSubscriptionResolver {
  @Authorized('reader')
  @Subscription(() => Alert, {
    description: 'Alerts raised by contracts; with `after` (an alert\'s cursor) the missed ones come first.',
    subscribe: ({ args, context }: SubArgs<{ after?: string | null }>) => context.rules.alerts(args.after ?? undefined),
  })
  alertRaised(@Root() e: LedgerEvent, @Arg('after', () => String, { nullable: true }) _after?: string): Alert {
    const p = e.payload as RulesPayloads['AlertRaised'];
    return {
      eventId: e.id,
      index: e.index,
      cursor: encodeCursor('event', e.index, e.ledger),
      contractId: p.contractId,
      triggerId: p.trigger,
      severity: p.severity as AlertSeverityEnum,
      message: p.message,
      raisedAt: new Date(e.hlc.physicalMs),
    };
  }
}
