import { Authorized, Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { mayReadLedger, requireLedgerRead } from '../auth/auth-checker.js';
import type { LedgerRow } from '../ledger/entities/index.js';
import type { LedgerParams } from '../ledger/ledgers.js';
import { CreateLedgerInput, Ledger } from '../schema/ledger.type.js';
import { LedgerStats } from '../schema/verification.type.js';
import type { RequestContext } from './context.js';

@Resolver(() => Ledger)
export class LedgerResolver {
  @Authorized('reader')
  @Query(() => Ledger, { nullable: true })
  async ledger(@Ctx() ctx: RequestContext, @Arg('name', { defaultValue: 'main' }) name: string): Promise<LedgerRow | null> {
    requireLedgerRead(ctx.principal, name);
    const all = await ctx.ledger.ledgers();
    return all.find((l) => l.name === name) ?? null;
  }

  @Authorized('reader')
  @Query(() => [Ledger])
  async ledgers(@Ctx() ctx: RequestContext): Promise<LedgerRow[]> {
    return (await ctx.ledger.ledgers()).filter((l) => mayReadLedger(ctx.principal, l.name));
  }

  @Authorized('admin')
  @Mutation(() => Ledger)
  createLedger(@Ctx() ctx: RequestContext, @Arg('input') input: CreateLedgerInput): Promise<LedgerRow> {
    const { name, ...params } = input;
    return ctx.ledger.createLedger(name, params as Partial<LedgerParams>);
  }

  @Authorized('reader')
  @Query(() => LedgerStats)
  stats(@Ctx() ctx: RequestContext, @Arg('ledger', { defaultValue: 'main' }) ledger: string) {
    return ctx.ledger.stats(ledger);
  }

  @FieldResolver(() => Number)
  async treeSize(@Root() l: LedgerRow, @Ctx() ctx: RequestContext): Promise<number> {
    return (await ctx.ledger.head(l.name)).treeSize;
  }

  @FieldResolver(() => String, { description: 'Merkle root of the whole log now (lowercase hex).' })
  async rootHash(@Root() l: LedgerRow, @Ctx() ctx: RequestContext): Promise<string> {
    return (await ctx.ledger.head(l.name)).rootHash;
  }

  @FieldResolver(() => Number, { description: 'Open branches of the event DAG.' })
  async tips(@Root() l: LedgerRow, @Ctx() ctx: RequestContext): Promise<number> {
    return (await ctx.ledger.head(l.name)).tips;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'C2SP verifier key (name+hexid+base64) that checks this ledger\'s checkpoints; null if the server cannot sign.',
  })
  verifierKey(@Ctx() ctx: RequestContext): string | null {
    return ctx.ledger.verifierKey();
  }

  @FieldResolver(() => [String], {
    description: 'Verifier keys that signed this server\'s earlier checkpoints, before a key rotation (CHAINPROOF_PREVIOUS_VERIFIER_KEYS), oldest first.',
  })
  previousVerifierKeys(@Ctx() ctx: RequestContext): readonly string[] {
    return ctx.ledger.serverKey?.previous ?? [];
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'C2SP verifier key (type 0x04) of the cosignatures this node makes as a witness (POST /witness/add-checkpoint); null without a signing key.',
  })
  witnessKey(@Ctx() ctx: RequestContext): string | null {
    return ctx.ledger.serverKey?.cosigner.verifierKey ?? null;
  }
}
