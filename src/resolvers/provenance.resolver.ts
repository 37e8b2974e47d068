import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, FieldResolver, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { assertMayRecordFor } from '../auth/roles.js';
import { DEFAULT_PAGE } from '../ledger/pagination.js';
import type { AsOf, ReadBound } from '../provenance/as-of.js';
import type { LineProofs } from '../provenance/line-proofs.js';
import type { AssertionRecord, QueryAuditFilter as ServiceFilter, QueryAuditRecord, SourceRecord } from '../provenance/model.js';
import type { ProvenanceService } from '../provenance/service.js';
import { exportProvJson, MAX_CITED_VALUE_CHARS } from '../provenance/service.js';
import { PageArgsInput, pageOf } from '../schema/connection.js';
import { InclusionProof } from '../schema/proof.type.js';
import {
  AsOfInput,
  Assertion,
  AssertionInput,
  ProvenanceChain,
  ProvenanceExport,
  ProvenanceFormat,
  QueryAudit,
  QueryAuditConnection,
  QueryAuditFilter,
  QueryAuditInput,
  Source,
  SourceInput,
  Trace,
} from '../schema/provenance.type.js';
import type { RequestContext } from './context.js';
import { toAuditEvent, toBlock, toCheckpoint, toConnection } from './mappers.js';
import { selects } from './selection.js';

// Records are served as read: the GraphQL types have their shape (the enums are the same strings),
// and copying them cost a 1,000-line trace thousands of objects on top of the rows and the result.
const asSource = (s: SourceRecord) => s as Source;
const asAssertion = (a: AssertionRecord) => a as Assertion;
const asAudit = (q: QueryAuditRecord) => q as QueryAudit;
const asAudits = (q: QueryAuditRecord[]) => q as QueryAudit[];

const toAsOf = (a: AsOfInput | undefined | null): AsOf | undefined =>
  a ? { treeSize: a.treeSize, blockHeight: a.blockHeight, timeMs: a.time?.getTime() } : undefined;

const toFilter = (f: QueryAuditFilter | undefined | null): ServiceFilter => ({
  queryId: f?.queryId ?? undefined,
  agent: f?.agent ?? undefined,
  subject: f?.subject ?? undefined,
  predicate: f?.predicate ?? undefined,
  lens: f?.lens ?? undefined,
  fromMs: f?.from?.getTime(),
  toMs: f?.to?.getTime(),
});

/**
 * What the fields of one response share: a LineProofs per ledger, so every line's proof shares
 * its reads, and one successor reader, so every `supersededBy` shares a statement.
 */
interface ResponseReads {
  lineProofs: Map<string, LineProofs>;
  successor: ReturnType<ProvenanceService['successorReader']>;
  /** Cited assertion values the whole response may still carry (DescribeOptions.citedValues). */
  citedValues: { left: number };
}
const readsByRequest = new WeakMap<RequestContext, ResponseReads>();
function readsOf(ctx: RequestContext): ResponseReads {
  let reads = readsByRequest.get(ctx);
  if (!reads) readsByRequest.set(ctx, (reads = { lineProofs: new Map(), successor: ctx.provenance.successorReader(), citedValues: { left: MAX_CITED_VALUE_CHARS } }));
  return reads;
}

function lineProofsOf(ctx: RequestContext, ledger: string, bound: ReadBound | undefined): LineProofs {
  const { lineProofs } = readsOf(ctx);
  const key = bound ? `${ledger}\n${bound.leaves}\n${bound.atMs ?? ''}` : ledger;
  let p = lineProofs.get(key);
  if (!p) lineProofs.set(key, (p = ctx.provenance.lineProofs(ledger, bound)));
  return p;
}

/**
 * Audits' citations get their assertion and source records only if the answer shows them; `at`
 * leads from the field to the audits. Their values draw on the response's one allowance.
 */
const describing = (ctx: RequestContext, info: GraphQLResolveInfo, at: readonly string[] = []) => ({
  citedRecords: ['assertion', 'source', 'sourceHash'].some((f) => selects(info, [...at, 'contributingAssertions', f])),
  citedValues: selects(info, [...at, 'contributingAssertions', 'assertion', 'value']) ? readsOf(ctx).citedValues : { left: Infinity },
});

@Resolver(() => QueryAudit)
export class ProvenanceResolver {
  @Authorized('writer')
  @Mutation(() => Source, { description: 'Recording the same content hash and locator again returns the first record.' })
  async recordSource(@Ctx() ctx: RequestContext, @Arg('input') input: SourceInput, @Arg('ledger', { defaultValue: 'main' }) ledger: string) {
    return asSource(await ctx.provenance.recordSource(ledger, input, ctx.principal.account));
  }

  @Authorized('writer')
  @Mutation(() => Assertion, { description: 'Its source (and any assertion it supersedes) must be recorded already.' })
  async recordAssertion(@Ctx() ctx: RequestContext, @Arg('input') input: AssertionInput, @Arg('ledger', { defaultValue: 'main' }) ledger: string) {
    return asAssertion(await ctx.provenance.recordAssertion(ledger, input, ctx.principal.account));
  }

  @Authorized('writer')
  @Mutation(() => QueryAudit, { description: 'Unknown contributing assertions are refused (BAD_USER_INPUT), as is an agent the caller\'s key is not bound to (FORBIDDEN); either way nothing is written.' })
  async recordQuery(
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('input') input: QueryAuditInput,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
  ) {
    assertMayRecordFor(ctx.principal, input.agentId);
    return asAudit(await ctx.provenance.recordQuery(ledger, input, ctx.principal.account, describing(ctx, info)));
  }

  @Authorized('writer')
  @Mutation(() => [QueryAudit], { description: 'Records up to the batch limit in one append: all or none (one audit of an agent the key is not bound to refuses the batch).' })
  async recordQueries(
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('inputs', () => [QueryAuditInput]) inputs: QueryAuditInput[],
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
  ) {
    for (const input of inputs) assertMayRecordFor(ctx.principal, input.agentId);
    const events = await ctx.provenance.recordQueries(ledger, inputs, ctx.principal.account);
    return asAudits(await ctx.provenance.describeQueries(ledger, events, describing(ctx, info)));
  }

  @Authorized('reader')
  @Query(() => QueryAuditConnection)
  async queryAudits(
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
    @Args() paging: PageArgsInput,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('filter', () => QueryAuditFilter, { nullable: true }) filter?: QueryAuditFilter,
    @Arg('asOf', () => AsOfInput, { nullable: true }) asOf?: AsOfInput,
  ) {
    const page = await ctx.provenance.queryAudits(ledger, toFilter(filter), pageOf(paging), toAsOf(asOf), describing(ctx, info, ['edges', 'node']));
    return toConnection(page, asAudit);
  }

  @Authorized('reader')
  @Query(() => Trace, { description: 'What `agent` queried from `since`, up to `until` if given, oldest first.' })
  async trace(
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('agent') agent: string,
    @Arg('since') since: Date,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('until', () => Date, { nullable: true }) until?: Date,
    @Arg('subject', () => String, { nullable: true, description: 'Subject glob, e.g. auth/*' }) subject?: string,
    @Arg('first', () => Int, { nullable: true, description: 'At most this many lines (1..1000, default 100); `truncated` says there were more.' }) first?: number,
    @Arg('asOf', () => AsOfInput, { nullable: true }) asOf?: AsOfInput,
  ): Promise<Trace> {
    // Without `until`, no bound: "now" on this server's clock would cut off audits stamped by a ledger clock running ahead of it.
    const t = await ctx.provenance.trace(
      ledger,
      { agent, sinceMs: since.getTime(), untilMs: until?.getTime(), subject: subject ?? undefined, first: first ?? DEFAULT_PAGE },
      toAsOf(asOf),
      describing(ctx, info, ['lines']),
    );
    return { agent, since, until: until ?? new Date(Math.max(Date.now(), t.lines.at(-1)?.time.getTime() ?? 0)), lines: asAudits(t.lines), truncated: t.truncated };
  }

  @Authorized('reader')
  @Query(() => ProvenanceChain, { description: 'The assertion, everything it superseded, their sources, events, blocks and a covering checkpoint.' })
  async provenance(
    @Ctx() ctx: RequestContext,
    @Arg('assertionHash') assertionHash: string,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('asOf', () => AsOfInput, { nullable: true }) asOf?: AsOfInput,
  ): Promise<ProvenanceChain> {
    const c = await ctx.provenance.provenance(ledger, assertionHash, toAsOf(asOf));
    return {
      assertion: asAssertion(c.assertion),
      links: c.links.map((l) => ({
        depth: l.depth,
        assertion: asAssertion(l.assertion),
        source: l.source && asSource(l.source),
        // The block as of the read: the current one may have been mined after `asOf`.
        event: { ...toAuditEvent(l.event), blockHeight: l.block?.height ?? null } as never,
        block: l.block && toBlock(l.block, ledger),
      })),
      checkpoint: c.checkpoint && toCheckpoint(c.checkpoint, ledger),
      truncated: c.truncated,
    };
  }

  @Authorized('reader')
  @Query(() => ProvenanceExport, { description: 'Query audits as W3C PROV-JSON, a page (`first`, `after`) at a time.' })
  async exportProvenance(
    @Ctx() ctx: RequestContext,
    @Args() paging: PageArgsInput,
    @Arg('format', () => ProvenanceFormat, { defaultValue: ProvenanceFormat.PROV_JSON }) format: ProvenanceFormat,
    @Arg('ledger', { defaultValue: 'main' }) ledger: string,
    @Arg('filter', () => QueryAuditFilter, { nullable: true }) filter?: QueryAuditFilter,
    @Arg('asOf', () => AsOfInput, { nullable: true }) asOf?: AsOfInput,
  ): Promise<ProvenanceExport> {
    return { format, ...(await exportProvJson(ctx.provenance, ledger, toFilter(filter), pageOf(paging), toAsOf(asOf), readsOf(ctx).citedValues)) };
  }

  @FieldResolver(() => InclusionProof, {
    description:
      'Inclusion proof of this record\'s event against the latest checkpoint that covers it (with its signed note), else the current tree; for a read with `asOf`, the latest checkpoint then, else the tree as it was then.',
  })
  async proof(@Root() q: QueryAudit, @Ctx() ctx: RequestContext): Promise<InclusionProof> {
    const p = await lineProofsOf(ctx, q.ledger, q.readBound).proof(q.eventIndex);
    return { ...p, checkpoint: p.checkpoint && toCheckpoint(p.checkpoint, q.ledger) };
  }
}

@Resolver(() => Assertion)
export class AssertionResolver {
  @FieldResolver(() => String, { nullable: true, description: 'The assertion that superseded this one, as of the read.' })
  supersededBy(@Root() a: Assertion, @Ctx() ctx: RequestContext): Promise<string | null> {
    return readsOf(ctx).successor(a);
  }
}
