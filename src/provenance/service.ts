import type { DataSource } from 'typeorm';
import { ChainproofError, isChainproofError } from '../errors.js';
import { CheckpointRow, type BlockRow, type LedgerRow } from '../ledger/entities/index.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { mapInSlices } from '../ledger/in-slices.js';
import type { AppendInputs, LedgerService } from '../ledger/ledger-service.js';
import { pageWindow, toPage, type Page, type PageArgs } from '../ledger/pagination.js';
import { EVENT_COLUMNS, eventFromRow, type ProjectionGroup, type RawEventRow } from '../ledger/sequencer.js';
import { checkpointWithin, leafBound, type AsOf, type ReadBound } from './as-of.js';
import { FirstSources } from './first-sources.js';
import { RecordedAssertions } from './recorded-assertions.js';
import { KnownAssertions } from './known-assertions.js';
import { LineProofs } from './line-proofs.js';
import { MAX_TRACE_LINES, type AssertionRecord, type QueryAuditFilter, type QueryAuditRecord, type SourceRecord } from './model.js';
import { isProvenance, PROVENANCE_EVENTS, PROVENANCE_SUBSYSTEM, projectProvenance } from './projection.js';
import { toProvJson, type ProvDocument } from './prov-json.js';
import { replayProvenance, type ProvenanceReplayReport } from './rebuild.js';
import { perTick } from '../per-tick.js';
import { attachContributions, findAssertion, findAudits, findChain, findSource, NO_BOUND, successorsOf, unresolvedCitations } from './reads.js';
import {
  assertionPayload,
  hexHash,
  operationPayload,
  queryPayload,
  sourcePayload,
  type AssertionInput,
  type AssertionPayload,
  type OperationInput,
  type QueryInput,
  type QueryPayload,
  type SourceInput,
} from './records.js';

export const AUDIT_CURSOR = 'queryAudit';
/** Deeper supersession chains than this are cut (and say so): a read must stay bounded. */
export const MAX_CHAIN_DEPTH = 1000;

export interface TraceRequest {
  agent: string;
  sinceMs: number;
  /** No bound when absent: audits are stamped with the ledger's clock, which may run ahead of any reader's. */
  untilMs?: number;
  subject?: string;
  first?: number;
}

/** What query audits read or recorded come with. */
/** Characters of cited assertion values one read may answer with (a normal 1,000-line trace cites well under 1 MB). */
export const MAX_CITED_VALUE_CHARS = 32_000_000;

export interface DescribeOptions {
  /**
   * Whether each citation gets its assertion and source records (default true). Without them
   * a citation has only its hash and weight, and its `assertion` is not set: for an answer
   * that does not show them, as a recording client's seldom does. For a batch of a thousand
   * audits, or a thousand-line trace, reading them takes a statement of thousands of random
   * look-ups.
   */
  citedRecords?: boolean;
  /**
   * What the answer may still carry of cited assertion values, in characters, drawn down by
   * every read that shares it: one per GraphQL request, so aliased reads add up. A read given
   * none has MAX_CITED_VALUE_CHARS of its own.
   */
  citedValues?: { left: number };
}

export interface ProvenanceLink {
  depth: number;
  assertion: AssertionRecord;
  source: SourceRecord | null;
  event: LedgerEvent;
  /** The mined block holding the assertion's event (as of the read); null while pending. */
  block: BlockRow | null;
}

export interface ProvenanceChain {
  ledger: string;
  assertion: AssertionRecord;
  links: ProvenanceLink[];
  /** The latest checkpoint (as of the read) covering every event of the chain, if one does. */
  checkpoint: CheckpointRow | null;
  truncated: boolean;
}

/**
 * Sources, assertions, query audits and operation audits as ledger events (subsystem
 * `provenance`), projected into the prov_* tables in the append's own transaction.
 * Writes are signed by the server and name the caller as actor.
 */
export class ProvenanceService {
  /**
   * One projection group per ledger: the appends of one commit (agents recording a query each,
   * the server's own operation audits) are written and checked together, a statement per kind
   * for all of them rather than for each.
   */
  private readonly projections = new Map<number, ProjectionGroup<undefined>>();

  /** Shared by every read of this service: a source's first recording never changes once committed. */
  private readonly firstSources: FirstSources;

  /** Shared by every read of this service: an assertion's record never changes once committed. */
  private readonly recordedAssertions: RecordedAssertions;

  /** Assertions seen committed, so citing them again costs no probe (see KnownAssertions). */
  private readonly knownAssertions = new KnownAssertions();

  constructor(
    private readonly dataSource: DataSource,
    readonly ledger: LedgerService,
  ) {
    this.firstSources = new FirstSources(dataSource);
    this.recordedAssertions = new RecordedAssertions(dataSource);
    // Only this service writes provenance records: a writer's look-alike `QueryRecorded` would read as genuine.
    ledger.reserveSubsystem(PROVENANCE_SUBSYSTEM);
  }

  /** Appends provenance events; their rows are written (and checked) inside the ledger's transaction. */
  private async append(ledger: LedgerRow, inputs: AppendInputs): Promise<LedgerEvent[]> {
    let group = this.projections.get(ledger.id);
    if (!group) {
      group = {
        project: (tx, requests) => projectProvenance(tx, ledger.id, requests.flatMap((r) => r.events), { check: true, known: this.knownAssertions }),
      };
      this.projections.set(ledger.id, group);
    }
    const events = await this.ledger.append(ledger.name, inputs, { asServer: true, projection: { group, context: undefined } });
    this.knownAssertions.add(ledger.id, committedAssertions(events));
    return events;
  }

  /** For records whose payload is built already. */
  private static readonly asIs = <P>(p: P): P => p;

  /**
   * One event per input, all in one append: all are recorded, or none. The inputs are checked
   * in the append's turn, a slice at a time (see LedgerService.append).
   */
  private appendRecords<I, P extends object>(ledger: LedgerRow, type: string, inputs: I[], payloadOf: (i: I) => P, resource: (p: P) => string, actor: string) {
    return this.append(ledger, async () =>
      (await mapInSlices(inputs, payloadOf)).map((payload) => ({ type, actor, subsystem: PROVENANCE_SUBSYSTEM, resource: resource(payload), payload })),
    );
  }

  private async bound(ledger: LedgerRow, asOf: AsOf | undefined): Promise<ReadBound> {
    const head = asOf ? await this.ledger.head(ledger.name) : undefined;
    const leaves = (await leafBound(this.dataSource, ledger.id, head?.treeSize ?? 0, asOf)) ?? NO_BOUND;
    return asOf?.timeMs !== undefined && asOf.timeMs !== null ? { leaves, atMs: asOf.timeMs } : { leaves };
  }

  /** Recording the same source (content hash and locator) again returns the first record. */
  async recordSource(ledgerName: string, input: SourceInput, actor: string): Promise<SourceRecord> {
    const ledger = await this.ledger.ledger(ledgerName);
    const payload = sourcePayload(input);
    const find = () => findSource(this.dataSource, ledger.id, payload.contentHash, payload.locator);
    const existing = await find();
    if (existing) return existing;
    try {
      const [e] = await this.appendRecords(ledger, PROVENANCE_EVENTS.source, [payload], ProvenanceService.asIs, sourceResource, actor);
      return { contentHash: payload.contentHash, locator: payload.locator, mediaType: payload.mediaType ?? null, ...recordedBy(e!) };
    } catch (err) {
      return recordedMeanwhile(err, find);
    }
  }

  /** An assertion's id is its content hash: recording the same one again returns the first record. */
  async recordAssertion(ledgerName: string, input: AssertionInput, actor: string): Promise<AssertionRecord> {
    const ledger = await this.ledger.ledger(ledgerName);
    const payload = assertionPayload(input);
    const find = () => findAssertion(this.dataSource, ledger.id, payload.hash, NO_BOUND);
    const existing = await find();
    if (existing) return existing;
    try {
      const [e] = await this.appendRecords(ledger, PROVENANCE_EVENTS.assertion, [payload], ProvenanceService.asIs, assertionResource, actor);
      return { ...payload, supersedes: payload.supersedes ?? null, supersededBy: null, ...recordedBy(e!) };
    } catch (err) {
      return recordedMeanwhile(err, find);
    }
  }

  /**
   * The batch paths for bulk loads: one append (one transaction) each, all or none. Unlike
   * the single calls, a record already in the ledger is refused (CONFLICT) rather than returned.
   */
  async recordSources(ledgerName: string, inputs: SourceInput[], actor: string): Promise<LedgerEvent[]> {
    const ledger = await this.ledger.ledger(ledgerName);
    return this.appendRecords(ledger, PROVENANCE_EVENTS.source, inputs, sourcePayload, sourceResource, actor);
  }

  async recordAssertions(ledgerName: string, inputs: AssertionInput[], actor: string): Promise<LedgerEvent[]> {
    const ledger = await this.ledger.ledger(ledgerName);
    return this.appendRecords(ledger, PROVENANCE_EVENTS.assertion, inputs, assertionPayload, assertionResource, actor);
  }

  async recordQuery(ledgerName: string, input: QueryInput, actor: string, options?: DescribeOptions): Promise<QueryAuditRecord> {
    const [audit] = await this.describeQueries(ledgerName, await this.recordQueries(ledgerName, [input], actor), options);
    return audit!;
  }

  /** All or none, in one append (so one transaction): the batch path for agents and loaders that record many. */
  async recordQueries(ledgerName: string, inputs: QueryInput[], actor: string): Promise<LedgerEvent[]> {
    const ledger = await this.ledger.ledger(ledgerName);
    return this.appendRecords(ledger, PROVENANCE_EVENTS.query, inputs, queryPayload, (p) => `query/${p.queryId}`, actor);
  }

  /** Query audits as recorded by `events` (QueryRecorded events just appended), with their contributions. */
  async describeQueries(ledgerName: string, events: LedgerEvent[], options?: DescribeOptions): Promise<QueryAuditRecord[]> {
    const ledger = await this.ledger.ledger(ledgerName);
    const audits = events.map((e) => {
      const p = e.payload as QueryPayload;
      return {
        ledger: ledger.name,
        queryId: p.queryId,
        agentId: p.agentId,
        subject: p.subject,
        predicate: p.predicate,
        lens: p.lens ?? null,
        lifecycleFilter: p.lifecycleFilter ?? null,
        result: p.result,
        resultHash: p.resultHash,
        resultConfidence: p.resultConfidence ?? null,
        contributingAssertions: unresolvedCitations(p.contributingAssertions),
        ...recordedBy(e),
      } satisfies QueryAuditRecord;
    });
    await this.cite(ledger.id, audits, { leaves: NO_BOUND }, options, false);
    return audits;
  }

  /** One audited GraphQL operation of a configured agent (see audit-plugin.ts). */
  async recordOperation(ledgerName: string, input: OperationInput): Promise<LedgerEvent> {
    const ledger = await this.ledger.ledger(ledgerName);
    const [e] = await this.appendRecords(ledger, PROVENANCE_EVENTS.operation, [operationPayload(input)], ProvenanceService.asIs, (p) => `operation/${p.documentHash}`, input.principal);
    return e!;
  }

  async queryAudits(
    ledgerName: string,
    filter: QueryAuditFilter,
    page: PageArgs,
    asOf?: AsOf,
    options?: DescribeOptions,
  ): Promise<Page<QueryAuditRecord>> {
    const ledger = await this.ledger.ledger(ledgerName);
    const bound = await this.bound(ledger, asOf);
    const w = pageWindow(AUDIT_CURSOR, page, ledger.name);
    const rows = await findAudits(
      this.dataSource,
      ledger,
      filter,
      { afterIdx: w.afterPos, beforeIdx: w.beforePos, limit: w.limit + 1, backwards: w.backwards },
      bound.leaves,
    );
    const result = toPage(AUDIT_CURSOR, w, rows, (a) => a.eventIndex, ledger.name);
    await this.cite(ledger.id, result.items.map((i) => i.node), bound, options);
    return result;
  }

  /**
   * What one agent queried in a time window, oldest first, with what it got and which
   * assertions (and their sources) contributed. `truncated` says more lines than `first` matched.
   */
  async trace(
    ledgerName: string,
    t: TraceRequest,
    asOf?: AsOf,
    options?: DescribeOptions,
  ): Promise<{ lines: QueryAuditRecord[]; truncated: boolean }> {
    if (typeof t.agent !== 'string' || t.agent.length === 0) throw new ChainproofError('BAD_USER_INPUT', 'agent is required');
    if (t.untilMs !== undefined && !(t.sinceMs <= t.untilMs)) throw new ChainproofError('BAD_USER_INPUT', 'since must not be after until');
    const first = t.first ?? MAX_TRACE_LINES;
    if (!Number.isInteger(first) || first < 1 || first > MAX_TRACE_LINES) {
      throw new ChainproofError('BAD_USER_INPUT', `first must be an integer in 1..${MAX_TRACE_LINES}`);
    }
    const ledger = await this.ledger.ledger(ledgerName);
    const bound = await this.bound(ledger, asOf);
    const rows = await findAudits(
      this.dataSource,
      ledger,
      { agent: t.agent, subject: t.subject, fromMs: t.sinceMs, toMs: t.untilMs },
      { limit: first + 1, backwards: false },
      bound.leaves,
    );
    const lines = rows.slice(0, first);
    await this.cite(ledger.id, lines, bound, options);
    return { lines, truncated: rows.length > first };
  }

  /** Rebuilds the ledger's provenance projections from its events and compares, changing nothing (see rebuild.ts). */
  async replay(ledgerName: string): Promise<ProvenanceReplayReport> {
    return replayProvenance(this.dataSource, await this.ledger.ledger(ledgerName), this.ledger.serverKey?.dids);
  }

  /**
   * Proofs of records' events against the latest checkpoint that covers them (else the current
   * tree). One per read: it shares the checkpoint and batches node reads across its records.
   */
  lineProofs(ledgerName: string, bound?: ReadBound): LineProofs {
    return new LineProofs(this.dataSource, this.ledger, ledgerName, bound);
  }

  /**
   * Fills in the records audits' citations name unless `options` leaves them out, and marks a
   * past read's audits with its bound (for their proofs). `limited`: held to the answer's share
   * of cited values (a recording's own answer is not: refused after its commit, it would read as failed).
   */
  private async cite(ledgerId: number, audits: QueryAuditRecord[], bound: ReadBound, options: DescribeOptions = {}, limited = true): Promise<void> {
    if (bound.leaves !== NO_BOUND) for (const a of audits) a.readBound = bound;
    if (options.citedRecords === false) return;
    await attachContributions(this.recordedAssertions, this.firstSources, ledgerId, audits, bound.leaves);
    if (!limited) return;
    // Each citation repeats its assertion's value in the answer: 256 citations of 60 kB values a
    // line made a 30-line trace 460 MB. Refused before any of it is built.
    let chars = 0;
    for (const a of audits) for (const c of a.contributingAssertions) chars += c.assertion?.valueChars ?? 0;
    const budget = options.citedValues ?? { left: MAX_CITED_VALUE_CHARS };
    if (chars > budget.left) {
      throw new ChainproofError(
        'RESULT_TOO_LARGE',
        `these ${audits.length} audits cite ${(chars / 1e6).toFixed(1)} MB of assertion values; one answer carries at most ${MAX_CITED_VALUE_CHARS / 1e6} MB in all: ask for fewer (first) or leave out the assertions`,
      );
    }
    budget.left -= chars;
  }

  /**
   * Reads the `supersededBy` a read left out (see attachContributions). Calls made in one
   * event-loop turn share one statement; make one reader per request.
   */
  successorReader(): (a: Pick<AssertionRecord, 'hash' | 'supersededBy' | 'successorScope'>) => Promise<string | null> {
    const byScope = new Map<string, (hash: string) => Promise<string | null>>();
    return async (a) => {
      if (a.supersededBy !== undefined) return a.supersededBy;
      const scope = a.successorScope;
      if (!scope) throw new ChainproofError('INTERNAL', `assertion ${a.hash} was read without its successor or a scope to find it`);
      const key = `${scope.ledgerId}:${scope.bound}`;
      let read = byScope.get(key);
      if (!read) byScope.set(key, (read = perTick((hashes: string[]) => successorsOf(this.dataSource, scope, hashes))));
      return read(a.hash);
    };
  }

  async provenance(ledgerName: string, assertionHash: string, asOf?: AsOf): Promise<ProvenanceChain> {
    const hash = hexHash('assertionHash', assertionHash);
    const ledger = await this.ledger.ledger(ledgerName);
    const bound = await this.bound(ledger, asOf);
    // Links at depths 0..MAX_CHAIN_DEPTH: one past the limit says whether the chain goes on.
    const found = await findChain(this.dataSource, this.firstSources, ledger.id, hash, bound, MAX_CHAIN_DEPTH);
    const chain = found.slice(0, MAX_CHAIN_DEPTH);
    if (chain.length === 0) throw new ChainproofError('NOT_FOUND', `no assertion ${hash} in ledger ${ledger.name}${asOf ? ' at that time' : ''}`);
    const indexes = chain.map((l) => l.assertion.eventIndex);
    const events: RawEventRow[] = await this.dataSource.query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idx = ANY($2::bigint[])`,
      [ledger.id, indexes],
    );
    const byIdx = new Map(events.map((r) => [Number(r.idx), eventFromRow(ledger.name, r)]));
    const newest = await checkpointWithin(this.dataSource, ledger.id, bound);
    const checkpoint = newest && newest.treeSize > Math.max(...indexes) ? newest : null;
    return {
      ledger: ledger.name,
      assertion: chain[0]!.assertion,
      links: await Promise.all(
        chain.map(async ({ blockHeight, ...l }) => ({
          ...l,
          event: byIdx.get(l.assertion.eventIndex)!,
          block: blockHeight === null ? null : await this.ledger.block(ledger.name, blockHeight),
        })),
      ),
      checkpoint,
      truncated: found.length > MAX_CHAIN_DEPTH,
    };
  }
}

/**
 * A single record refused as a duplicate was recorded by a concurrent call between the look-up
 * and the append (a client's retry, say): answer with that record, as a later repeat would get.
 * Any other conflict (another assertion superseded the same one first) stands.
 */
async function recordedMeanwhile<T>(err: unknown, find: () => Promise<T | null>): Promise<T> {
  if (isChainproofError(err) && err.code === 'CONFLICT') {
    const first = await find();
    if (first) return first;
  }
  throw err;
}

/**
 * W3C PROV-JSON of the query audits matching `filter`, a page at a time. The document carries
 * the cited assertions' values, so it draws on the response's allowance of them (`citedValues`)
 * as a trace does: aliased exports add up.
 */
export async function exportProvJson(
  service: ProvenanceService,
  ledgerName: string,
  filter: QueryAuditFilter,
  page: PageArgs,
  asOf?: AsOf,
  citedValues?: { left: number },
): Promise<{ document: ProvDocument; hasNextPage: boolean; endCursor: string | null }> {
  const ledger = await service.ledger.ledger(ledgerName);
  const audits = await service.queryAudits(ledger.name, filter, page, asOf, { citedValues });
  return {
    document: toProvJson(audits.items.map((i) => i.node), ledger.origin),
    hasNextPage: audits.hasNextPage,
    endCursor: audits.items.at(-1)?.cursor ?? null,
  };
}

const sourceResource = (p: { contentHash: string }) => `source/${p.contentHash}`;
const assertionResource = (p: { hash: string }) => `assertion/${p.hash}`;

function recordedBy(e: LedgerEvent) {
  return { recordedBy: e.actor, time: new Date(e.hlc.physicalMs), eventIndex: e.index, eventId: e.id };
}

/** The assertions that committed `events` recorded or cited: all of them are in the ledger now. */
function* committedAssertions(events: readonly LedgerEvent[]): Generator<string> {
  for (const e of events) {
    if (isProvenance(e, PROVENANCE_EVENTS.assertion)) yield (e.payload as AssertionPayload).hash;
    else if (isProvenance(e, PROVENANCE_EVENTS.query)) for (const c of (e.payload as QueryPayload).contributingAssertions) yield c.assertionHash;
  }
}
