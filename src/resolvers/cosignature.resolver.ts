import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { Checkpoint, Cosignature, FinalityEnum } from '../schema/checkpoint.type.js';
import type { RequestContext } from './context.js';

/** What validators added to a checkpoint: their cosignatures, and whether those make it final. */
@Resolver(() => Checkpoint)
export class CosignatureResolver {
  @FieldResolver(() => [Cosignature])
  cosignatures(@Root() c: Checkpoint, @Ctx() ctx: RequestContext): Promise<Cosignature[]> {
    return ctx.cosignatures.lines(c.id);
  }

  @FieldResolver(() => FinalityEnum)
  async finality(@Root() c: Checkpoint, @Ctx() ctx: RequestContext): Promise<FinalityEnum> {
    return (await ctx.cosignatures.finality(c.id)) as FinalityEnum;
  }

  @FieldResolver(() => String, { description: 'The signed note, with the validators\' cosignature lines appended; check it with Ledger.verifierKey (and the validators\' keys).' })
  async note(@Root() c: Checkpoint, @Ctx() ctx: RequestContext): Promise<string> {
    return c.note + (await ctx.cosignatures.lines(c.id)).map((l) => l.line).join('');
  }
}
