import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { LedgerEvent } from '../ledger/events/event.js';
import { PageArgsInput, pageOf } from '../schema/connection.js';
import { SafeInt } from '../schema/scalars.js';
import {
  Account,
  AMOUNT,
  BalanceChangeConnection,
  CastVoteInput,
  CreateProposalInput,
  GovernanceReceipt,
  MintGrantInput,
  Proposal,
  ProposalConnection,
  ProposalFilter,
  ProposalOrder,
  Vote,
  VoteConnection,
} from '../schema/governance.type.js';
import { checkAccount } from '../governance/inputs.js';
import type { RequestContext } from './context.js';
import { toAccount, toBalanceChange, toProposal, toVote } from './governance.mappers.js';
import { toConnection } from './mappers.js';
import { nonNegative } from './checks.js';

const accountOf = (ctx: RequestContext, id: string): Account => toAccount(id, () => ctx.governance.account(id));

const receipt = (ctx: RequestContext, e: LedgerEvent, account: string): GovernanceReceipt =>
  ({ eventId: e.id, index: e.index, account: accountOf(ctx, account) });

@Resolver(() => Account)
export class AccountResolver {
  @Authorized('reader')
  @Query(() => Account)
  account(@Ctx() ctx: RequestContext, @Arg('id') id: string): Account {
    checkAccount(id);
    return accountOf(ctx, id);
  }

  @FieldResolver(() => String, { description: AMOUNT })
  async balance(@Root() a: Account): Promise<string> {
    return (await a.current()).balance.toString();
  }

  @FieldResolver(() => String, { name: 'delegate', nullable: true, description: 'Whom this account\'s voting power is delegated to.' })
  async delegateTo(@Root() a: Account): Promise<string | null> {
    return (await a.current()).delegate;
  }

  @FieldResolver(() => String, { description: 'Voting power now, or counting only events before leaf `at` (a proposal\'s snapshot).' })
  async votingPower(@Root() a: Account, @Ctx() ctx: RequestContext, @Arg('at', () => SafeInt, { nullable: true }) at?: number): Promise<string> {
    if (at === undefined || at === null) return (await a.current()).votingPower.toString();
    return (await ctx.governance.votingPowerAt(a.id, nonNegative('at', at))).toString();
  }

  @FieldResolver(() => [String], { description: 'Accounts delegating their voting power to this one (first 1,000).' })
  delegators(@Root() a: Account, @Ctx() ctx: RequestContext): Promise<string[]> {
    return ctx.governance.delegators(a.id);
  }

  @FieldResolver(() => BalanceChangeConnection)
  async history(@Root() a: Account, @Ctx() ctx: RequestContext, @Args() paging: PageArgsInput) {
    return toConnection(await ctx.governance.history(a.id, pageOf(paging)), toBalanceChange);
  }

  @Authorized('admin')
  @Mutation(() => GovernanceReceipt, { description: 'Mint to an account (admins; proposals and rules mint through their own actions).' })
  async mintTokens(@Ctx() ctx: RequestContext, @Arg('to') to: string, @Arg('amount') amount: string, @Arg('reason') reason: string) {
    return receipt(ctx, await ctx.governance.mint(ctx.principal.account, to, amount, reason), to);
  }

  @Authorized('admin')
  @Mutation(() => [String], { description: 'Mint to many accounts in one atomic append (up to the batch limit); returns the event ids.' })
  async mintTokensBatch(@Ctx() ctx: RequestContext, @Arg('grants', () => [MintGrantInput]) grants: MintGrantInput[], @Arg('reason') reason: string) {
    return (await ctx.governance.mintMany(ctx.principal.account, grants.map((g) => ({ to: g.to, amount: g.amount })), reason)).map((e) => e.id);
  }

  @Authorized('writer')
  @Mutation(() => GovernanceReceipt, { description: 'Move tokens from the caller\'s account.' })
  async transferTokens(@Ctx() ctx: RequestContext, @Arg('to') to: string, @Arg('amount') amount: string) {
    return receipt(ctx, await ctx.governance.transfer(ctx.principal.account, to, amount), ctx.principal.account);
  }

  @Authorized('writer')
  @Mutation(() => GovernanceReceipt, { description: 'Destroy tokens of the caller\'s account.' })
  async burnTokens(@Ctx() ctx: RequestContext, @Arg('amount') amount: string) {
    return receipt(ctx, await ctx.governance.burn(ctx.principal.account, amount), ctx.principal.account);
  }

  @Authorized('writer')
  @Mutation(() => GovernanceReceipt, { description: 'Delegate the caller\'s voting power to `to`; null takes it back.' })
  async delegate(@Ctx() ctx: RequestContext, @Arg('to', () => String, { nullable: true }) to: string | null) {
    return receipt(ctx, await ctx.governance.delegate(ctx.principal.account, to ?? null), ctx.principal.account);
  }
}

@Resolver(() => Proposal)
export class ProposalResolver {
  @Authorized('reader')
  @Query(() => Proposal, { nullable: true })
  async proposal(@Ctx() ctx: RequestContext, @Arg('id') id: string): Promise<Proposal | null> {
    const p = await ctx.governance.proposal(id);
    return p && toProposal(p);
  }

  @Authorized('reader')
  @Query(() => ProposalConnection)
  async proposals(
    @Ctx() ctx: RequestContext,
    @Args() paging: PageArgsInput,
    @Arg('filter', () => ProposalFilter, { nullable: true }) filter?: ProposalFilter,
    @Arg('orderBy', () => ProposalOrder, { defaultValue: ProposalOrder.NEWEST }) orderBy?: ProposalOrder,
  ) {
    const page = await ctx.governance.proposals({ state: filter?.state ?? undefined, proposer: filter?.proposer ?? undefined }, orderBy ?? 'NEWEST', pageOf(paging));
    return toConnection(page, toProposal);
  }

  @FieldResolver(() => VoteConnection)
  async votes(@Root() p: Proposal, @Ctx() ctx: RequestContext, @Args() paging: PageArgsInput) {
    return toConnection(await ctx.governance.votes(p.id, pageOf(paging)), toVote);
  }

  @Authorized('governor')
  @Mutation(() => Proposal)
  async createProposal(@Ctx() ctx: RequestContext, @Arg('input') input: CreateProposalInput): Promise<Proposal> {
    return toProposal(await ctx.governance.createProposal(ctx.principal.account, { ...input, actions: input.actions.map((a) => ({ ...a })) }));
  }

  @Authorized('writer')
  @Mutation(() => Vote, { description: 'One vote per voter per proposal, weighted by voting power at the snapshot.' })
  async castVote(@Ctx() ctx: RequestContext, @Arg('input') input: CastVoteInput): Promise<Vote> {
    return toVote(await ctx.governance.castVote(ctx.principal.account, input));
  }

  @Authorized('governor')
  @Mutation(() => Proposal)
  async queueProposal(@Ctx() ctx: RequestContext, @Arg('id') id: string): Promise<Proposal> {
    return toProposal(await ctx.governance.queue(ctx.principal.account, id));
  }

  @Authorized('governor')
  @Mutation(() => Proposal, { description: 'Runs every action of a queued proposal past its timelock, atomically.' })
  async executeProposal(@Ctx() ctx: RequestContext, @Arg('id') id: string): Promise<Proposal> {
    return toProposal(await ctx.governance.execute(ctx.principal.account, id));
  }

  @Authorized('governor')
  @Mutation(() => Proposal, { description: 'Its proposer may cancel a proposal while it is pending.' })
  async cancelProposal(@Ctx() ctx: RequestContext, @Arg('id') id: string): Promise<Proposal> {
    return toProposal(await ctx.governance.cancel(ctx.principal.account, id));
  }
}

type SubArgs<T> = { args: T; context: RequestContext };
const payloadOf = (e: LedgerEvent) => e.payload as { proposalId?: string };

@Resolver()
export class GovernanceSubscriptionResolver {
  @Authorized('reader')
  @Subscription(() => Proposal, {
    description: 'A proposal after each recorded change (created, vote, queued, executed, canceled).',
    subscribe: ({ args, context }: SubArgs<{ id?: string | null; after?: string | null }>) =>
      context.governance.subscribe(
        (e) => (e.type === 'ProposalCreated' ? !args.id || e.id === args.id : payloadOf(e).proposalId !== undefined && (!args.id || payloadOf(e).proposalId === args.id)),
        args.after ?? undefined,
      ),
  })
  async proposalUpdated(
    @Root() e: LedgerEvent,
    @Ctx() ctx: RequestContext,
    @Arg('id', () => String, { nullable: true }) _id?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): Promise<Proposal> {
    const p = await ctx.governance.proposal(e.type === 'ProposalCreated' ? e.id : payloadOf(e).proposalId!);
    return toProposal(p!);
  }

  @Authorized('reader')
  @Subscription(() => Vote, {
    subscribe: ({ args, context }: SubArgs<{ proposalId?: string | null; after?: string | null }>) =>
      context.governance.subscribe((e) => e.type === 'VoteCast' && (!args.proposalId || payloadOf(e).proposalId === args.proposalId), args.after ?? undefined),
  })
  async voteCast(
    @Root() e: LedgerEvent,
    @Ctx() ctx: RequestContext,
    @Arg('proposalId', () => String, { nullable: true }) _proposalId?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): Promise<Vote> {
    const v = e.payload as { proposalId: string; voter: string };
    return toVote((await ctx.governance.vote(v.proposalId, v.voter))!);
  }
}
