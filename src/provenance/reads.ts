import type { DataSource } from 'typeorm';
import { anyOf, binaryArray } from '../db/binary-array.js';
import { prepared } from '../db/driver-pool.js';
import { ChainproofError } from '../errors.js';
import { isStorableText } from '../ledger/events/envelope.js';
import { auditLeafRange } from './audit-leaves.js';
import { subjectMatcher } from './glob.js';
import type { AssertionRecord, ContributionRecord, QueryAuditFilter, QueryAuditRecord, SourceRecord, SuccessorScope } from './model.js';
import type { ReadBound } from './as-of.js';
import type { Lifecycle } from './records.js';

/** No `asOf`: a bound past every leaf index. */
export const NO_BOUND = Number.MAX_SAFE_INTEGER;
type Row = Record<string, any>;
const hex = (h: string) => Buffer.from(h, 'hex');
/**
 * Hashes leave PostgreSQL as hex text: the driver would otherwise parse bytea's hex into a
 * Buffer only for us to turn it back into hex, thousands of times in a long trace.
 */
const asHex = (column: string, alias = column.replace(/^\w+\./, '')) => `encode(${column}, 'hex') AS ${alias}`;

/** The first recording of each content hash among `contentHashes` that has one (see FirstSources). */
export interface FirstSourceLookup {
  of(ledgerId: number, contentHashes: readonly string[]): Promise<Map<string, SourceRecord>>;
}

/** Recorded assertions by hash, read for a read among the first `bound` leaves (see RecordedAssertions). */
export interface AssertionLookup {
  of(ledgerId: number, hashes: readonly string[], bound: number): Promise<Map<string, AssertionRecord>>;
}

export const SOURCE_COLUMNS = (t: string, p = 's_') =>
  [asHex(`${t}.content_hash`, `${p}content_hash`), asHex(`${t}.event_id`, `${p}event_id`),
    ...['locator', 'media_type', 'recorded_by', 'hlc_ms', 'event_idx'].map((c) => `${t}.${c} AS ${p}${c}`)].join(', ');

export function sourceFromRow(r: Row, p = 's_'): SourceRecord | null {
  if (!r[`${p}content_hash`]) return null;
  return {
    contentHash: r[`${p}content_hash`],
    locator: r[`${p}locator`],
    mediaType: r[`${p}media_type`],
    recordedBy: r[`${p}recorded_by`],
    time: new Date(Number(r[`${p}hlc_ms`])),
    eventIndex: Number(r[`${p}event_idx`]),
    eventId: r[`${p}event_id`],
  };
}

/** Columns of an assertion, without its successor. */
export const ASSERTION_OWN_COLUMNS = (t: string) =>
  `${asHex(`${t}.hash`)}, ${t}.subject, ${t}.predicate, ${t}.value, ${t}.lifecycle, ${t}.confidence, ${asHex(`${t}.source_hash`)},
   ${asHex(`${t}.supersedes`)}, ${t}.recorded_by, ${t}.hlc_ms, ${t}.event_idx, ${asHex(`${t}.event_id`)}`;

/** Columns of an assertion plus its successor as of the bound in `$boundParam`. */
export const ASSERTION_COLUMNS = (t: string, boundParam: string) =>
  `${ASSERTION_OWN_COLUMNS(t)},
   (SELECT encode(n.hash, 'hex') FROM prov_assertions n WHERE n.ledger_id = ${t}.ledger_id AND n.supersedes = ${t}.hash
      AND n.event_idx < ${boundParam}) AS superseded_by`;

export function assertionFromRow(r: Row, successorScope?: SuccessorScope): AssertionRecord {
  return {
    hash: r.hash,
    subject: r.subject,
    predicate: r.predicate,
    value: JSON.parse(r.value),
    valueChars: r.value.length,
    lifecycle: r.lifecycle as Lifecycle,
    confidence: Number(r.confidence),
    sourceHash: r.source_hash,
    supersedes: r.supersedes ?? null,
    // Absent when the read left it out (see successorsOf); null when nothing superseded it.
    supersededBy: 'superseded_by' in r ? (r.superseded_by ?? null) : undefined,
    recordedBy: r.recorded_by,
    time: new Date(Number(r.hlc_ms)),
    eventIndex: Number(r.event_idx),
    eventId: r.event_id,
    successorScope,
  };
}

export interface AuditWindow {
  afterIdx?: number;
  beforeIdx?: number;
  limit: number;
  backwards: boolean;
}

/** Query audits matching `filter`, in ledger order, among the first `bound` leaves. */
export async function findAudits(
  db: DataSource,
  ledger: { id: number; name: string },
  filter: QueryAuditFilter,
  w: AuditWindow,
  bound: number,
): Promise<QueryAuditRecord[]> {
  // Attacker-controlled: PostgreSQL would refuse such text as an internal error.
  for (const key of ['queryId', 'agent', 'subject', 'predicate', 'lens'] as const) {
    const v = filter[key];
    if (v !== undefined && !isStorableText(v)) throw new ChainproofError('BAD_USER_INPUT', `${key} must be well-formed Unicode without NUL characters`);
  }
  const params: unknown[] = [ledger.id, bound];
  const where = ['q.ledger_id = $1', 'q.event_idx < $2'];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (filter.queryId !== undefined) add('q.query_id = ?', filter.queryId);
  if (filter.agent !== undefined) add('q.agent_id = ?', filter.agent);
  if (filter.subject !== undefined) {
    const m = subjectMatcher(filter.subject);
    if ('equals' in m) add('q.subject = ?', m.equals);
    else {
      if (m.likePrefix) add(`q.subject LIKE ? ESCAPE '\\'`, m.likePrefix);
      add('q.subject ~ ?', m.regex);
    }
  }
  if (filter.predicate !== undefined) add('q.predicate = ?', filter.predicate);
  if (filter.lens !== undefined) add('q.lens = ?', filter.lens);
  if (filter.fromMs !== undefined) add('q.hlc_ms >= ?', filter.fromMs);
  if (filter.toMs !== undefined) add('q.hlc_ms <= ?', filter.toMs);
  if ((filter.fromMs !== undefined || filter.toMs !== undefined) && filter.queryId === undefined) {
    // A time window is a run of leaves (see audit-leaves.ts): read it in leaf order, with whatever index the rest picks.
    const leaves = await auditLeafRange(db, ledger.id, bound, filter);
    add('q.event_idx >= ?', leaves.from);
    if (leaves.to !== undefined) add('q.event_idx < ?', leaves.to);
  }
  if (w.afterIdx !== undefined) add('q.event_idx > ?', w.afterIdx);
  if (w.beforeIdx !== undefined) add('q.event_idx < ?', w.beforeIdx);
  params.push(w.limit);
  const text = `SELECT q.query_id, q.agent_id, q.subject, q.predicate, q.lens, q.lifecycle_filter, q.result, ${asHex('q.result_hash')},
            q.result_confidence, q.recorded_by, q.hlc_ms, q.event_idx, ${asHex('q.event_id')},
            array_to_string(ARRAY(SELECT encode(h, 'hex') FROM unnest(q.assertion_hashes) AS h), ',') AS cited,
            array_to_string(q.weights, ',') AS weights
       FROM prov_query_audits q WHERE ${where.join(' AND ')}
      ORDER BY q.event_idx ${w.backwards ? 'DESC' : 'ASC'} LIMIT $${params.length}`;
  // A queryId is unique in its ledger: whatever else the filter holds, the plan is a look-up of that key.
  const rows: Row[] = filter.queryId !== undefined ? await prepared(db, text, params) : await db.query(text, params);
  return rows.map((r) => auditFromRow(ledger.name, r));
}

function auditFromRow(ledger: string, r: Row): QueryAuditRecord {
  return {
    ledger,
    queryId: r.query_id,
    agentId: r.agent_id,
    subject: r.subject,
    predicate: r.predicate,
    lens: r.lens,
    lifecycleFilter: r.lifecycle_filter,
    result: JSON.parse(r.result),
    resultHash: r.result_hash,
    resultConfidence: r.result_confidence === null ? null : Number(r.result_confidence),
    contributingAssertions: r.cited ? citationsOfRow(r.cited, r.weights) : [],
    recordedBy: r.recorded_by,
    time: new Date(Number(r.hlc_ms)),
    eventIndex: Number(r.event_idx),
    eventId: r.event_id,
  };
}

/** An audit's citations in order, their assertions and sources left for attachContributions to fill in. */
export function unresolvedCitations(cited: ReadonlyArray<{ assertionHash: string; weight: number }>): ContributionRecord[] {
  return cited.map(({ assertionHash, weight }) => ({ assertionHash, weight, sourceHash: '', assertion: UNRESOLVED, source: null }));
}
const UNRESOLVED = null as unknown as AssertionRecord;

/** Citations as findAudits reads them: comma-joined hashes and weights, in order. */
function citationsOfRow(hashes: string, weights: string): ContributionRecord[] {
  const w = weights.split(',');
  return unresolvedCitations(hashes.split(',').map((assertionHash, i) => ({ assertionHash, weight: Number(w[i]) })));
}

/**
 * Fills in the assertions audits cite, with their sources: each distinct assertion once (a
 * trace's lines mostly cite the same few), then each distinct source once, both through caches
 * of records that never change. Successors are left out: a long trace rarely asks for them,
 * and looking them up for thousands of assertions cost more than the assertions themselves
 * (see successorsOf).
 */
export async function attachContributions(
  assertions: AssertionLookup,
  firstSources: FirstSourceLookup,
  ledgerId: number,
  audits: QueryAuditRecord[],
  bound: number,
): Promise<void> {
  const distinct = [...new Set(audits.flatMap((a) => a.contributingAssertions.map((c) => c.assertionHash)))];
  if (distinct.length === 0) return;
  const byHash = await assertions.of(ledgerId, distinct, bound);
  const sources = await firstSources.of(ledgerId, [...byHash.values()].map((a) => a.sourceHash));
  for (const audit of audits) {
    for (const c of audit.contributingAssertions) {
      const found = byHash.get(c.assertionHash);
      if (!found) throw new ChainproofError('INTERNAL', `audit ${audit.queryId} cites assertion ${c.assertionHash}, which is not recorded`);
      c.assertion = found;
      c.sourceHash = found.sourceHash;
      c.source = sources.get(found.sourceHash) ?? null;
    }
  }
}

/** The assertion that superseded each of `hashes` among the first `bound` leaves (null if none), in order. */
export async function successorsOf(db: DataSource, scope: SuccessorScope, hashes: string[]): Promise<Array<string | null>> {
  const rows: Row[] = await db.query(
    `SELECT encode(supersedes, 'hex') AS supersedes, encode(hash, 'hex') AS hash FROM prov_assertions
      WHERE ledger_id = $1 AND supersedes ${anyOf('$2', 'bytea')} AND event_idx < $3`,
    [scope.ledgerId, binaryArray('hex', [...new Set(hashes)]), scope.bound],
  );
  const by = new Map(rows.map((r) => [r.supersedes as string, r.hash as string]));
  return hashes.map((h) => by.get(h) ?? null);
}

export async function findAssertion(db: DataSource, ledgerId: number, hash: string, bound: number): Promise<AssertionRecord | null> {
  const [r] = await db.query(
    `SELECT ${ASSERTION_COLUMNS('a', '$3')} FROM prov_assertions a WHERE a.ledger_id = $1 AND a.hash = $2 AND a.event_idx < $3`,
    [ledgerId, hex(hash), bound],
  );
  return r ? assertionFromRow(r) : null;
}

export async function findSource(db: DataSource, ledgerId: number, contentHash: string, locator: string): Promise<SourceRecord | null> {
  const [r] = await db.query(
    `SELECT ${SOURCE_COLUMNS('s')} FROM prov_sources s WHERE s.ledger_id = $1 AND s.content_hash = $2 AND s.locator = $3`,
    [ledgerId, hex(contentHash), locator],
  );
  return r ? sourceFromRow(r) : null;
}

/**
 * An assertion and everything it superseded, newest first, as of the bound: each with its
 * first source and the mined block holding its event (null while pending, or mined after `bound.atMs`).
 * A block's `mined_at` keeps microseconds, but a reader sees and asks by milliseconds: a block
 * mined within the millisecond `atMs` names was mined by then.
 */
export async function findChain(db: DataSource, firstSources: FirstSourceLookup, ledgerId: number, hash: string, bound: ReadBound, maxDepth: number) {
  const rows: Row[] = await db.query(
    `WITH RECURSIVE chain(hash, depth) AS (
       SELECT a.hash, 0 FROM prov_assertions a WHERE a.ledger_id = $1 AND a.hash = $2 AND a.event_idx < $3
       UNION ALL
       SELECT a.supersedes, c.depth + 1 FROM chain c JOIN prov_assertions a ON a.ledger_id = $1 AND a.hash = c.hash
        WHERE a.supersedes IS NOT NULL AND c.depth < $4
     )
     SELECT chain.depth, ${ASSERTION_COLUMNS('a', '$3')}, b.height AS b_height
       FROM chain JOIN prov_assertions a ON a.ledger_id = $1 AND a.hash = chain.hash
       LEFT JOIN LATERAL (SELECT height, start_index FROM blocks WHERE ledger_id = $1 AND tree_size > a.event_idx
                            AND tree_size <= $3 AND ($5::bigint IS NULL OR date_trunc('milliseconds', mined_at) <= to_timestamp($5 / 1000.0))
                          ORDER BY tree_size LIMIT 1) b ON b.start_index <= a.event_idx
      ORDER BY chain.depth`,
    [ledgerId, hex(hash), bound.leaves, maxDepth, bound.atMs ?? null],
  );
  const sources = await firstSources.of(ledgerId, rows.map((r) => r.source_hash as string));
  return rows.map((r) => ({
    depth: Number(r.depth),
    assertion: assertionFromRow(r),
    source: sources.get(r.source_hash) ?? null,
    blockHeight: r.b_height === null || r.b_height === undefined ? null : Number(r.b_height),
  }));
}
