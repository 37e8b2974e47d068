import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { Checkpoint, Cosignature, FinalityEnum } from '../schema/checkpoint.type.js';
import type { RequestContext } from './context.js';

/**
 * One read of a checkpoint's cosignatures per checkpoint object, shared by its fields, so
 * `cosignatures`, `finality` and `note` in one response agree even while cosignatures arrive.
 * That needs the root to reach each field as the same object: `toCheckpoint` makes instances.
 */
const read = new WeakMap<Checkpoint, Promise<Cosignature[]>>();
function cosignaturesOf(c: Checkpoint, ctx: RequestContext): Promise<Cosignature[]> {
  let lines = read.get(c);
  if (!lines) read.set(c, (lines = ctx.cosignatures.lines(c.id)));
  return lines;
}

/** What validators added to a checkpoint: their cosignatures, and whether those make it final. */
@Resolver(() => Checkpoint)
export class CosignatureResolver {
  @FieldResolver(() => [Cosignature])
  cosignatures(@Root() c: Checkpoint, @Ctx() ctx: RequestContext): Promise<Cosignature[]> {
    return cosignaturesOf(c, ctx);
  }

  @FieldResolver(() => FinalityEnum)
  async finality(@Root() c: Checkpoint, @Ctx() ctx: RequestContext): Promise<FinalityEnum> {
    return ctx.cosignatures.finalityOf((await cosignaturesOf(c, ctx)).length) as FinalityEnum;
  }

  @FieldResolver(() => String, { description: 'The signed note, with the validators\' cosignature lines appended; check it with Ledger.verifierKey (and the validators\' keys).' })
  async note(@Root() c: Checkpoint, @Ctx() ctx: RequestContext): Promise<string> {
    return c.note + (await cosignaturesOf(c, ctx)).map((l) => l.line).join('');
  }
}
