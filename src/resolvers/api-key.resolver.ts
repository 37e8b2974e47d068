import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { ApiKey, CreatedApiKey, KnownDid } from '../schema/api-key.type.js';
import type { RequestContext } from './context.js';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized('admin')
  @Query(() => [ApiKey])
  apiKeys(@Ctx() ctx: RequestContext) {
    return ctx.keys.list();
  }

  @Authorized('admin')
  @Mutation(() => CreatedApiKey)
  async createApiKey(
    @Ctx() ctx: RequestContext,
    @Arg('role') role: string,
    @Arg('name') name: string,
    @Arg('agents', () => [String], { nullable: true, description: 'Bind the key to these agents: it records query audits for them alone.' }) agents?: string[] | null,
  ): Promise<CreatedApiKey> {
    const { key, record } = await ctx.keys.create(name, role, ctx.principal.account, agents ? { agents } : {});
    return { key, apiKey: record };
  }

  @Authorized('admin')
  @Mutation(() => ApiKey, { description: 'Revoke by id or name; takes effect on every server within seconds.' })
  revokeApiKey(@Ctx() ctx: RequestContext, @Arg('id') id: string) {
    return ctx.keys.revoke(id, ctx.principal.account);
  }

  @Authorized('admin')
  @Query(() => [KnownDid])
  knownDids(@Ctx() ctx: RequestContext) {
    return ctx.dids.list();
  }

  @Authorized('admin')
  @Mutation(() => KnownDid, { description: 'Let a did:key sign requests with a role.' })
  registerDid(
    @Ctx() ctx: RequestContext,
    @Arg('did') did: string,
    @Arg('role') role: string,
    @Arg('name') name: string,
    @Arg('agents', () => [String], { nullable: true, description: 'Bind the DID to these agents: it records query audits for them alone.' }) agents?: string[] | null,
  ) {
    return ctx.dids.register(did, role, name, ctx.principal.account, agents ? { agents } : {});
  }

  @Authorized('admin')
  @Mutation(() => KnownDid)
  revokeDid(@Ctx() ctx: RequestContext, @Arg('did') did: string) {
    return ctx.dids.revoke(did, ctx.principal.account);
  }
}
