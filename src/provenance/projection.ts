import type { EntityManager } from 'typeorm';
import { arrayLiteral } from '../db/array-literal.js';
import { bytesAt, hashAt, packBytes, packHashes } from '../db/packed-bytes.js';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { canonicalJson } from './hashing.js';
import type { KnownAssertions } from './known-assertions.js';
import type { AssertionPayload, OperationPayload, QueryPayload, SourcePayload } from './records.js';

export const PROVENANCE_SUBSYSTEM = 'provenance';
export const PROVENANCE_EVENTS = {
  source: 'SourceRecorded',
  assertion: 'AssertionRecorded',
  query: 'QueryRecorded',
  operation: 'OperationAudited',
} as const;
export const PROVENANCE_EVENT_TYPES: string[] = Object.values(PROVENANCE_EVENTS);

/** Whether `e` is a provenance record of `type` (another subsystem may use the same type name). */
export const isProvenance = (e: LedgerEvent, type: string) => e.type === type && e.subsystem === PROVENANCE_SUBSYSTEM;

/** The events' ids, packed (see packed-bytes.ts). */
const idsOf = (events: readonly LedgerEvent[]) => packHashes(events.map((e) => e.id));
/** Assertions' `supersedes`, packed; null where an assertion supersedes nothing. */
const supersededOf = (p: readonly AssertionPayload[]) => packBytes(p.map((a) => (a.supersedes ? Buffer.from(a.supersedes, 'hex') : null)));

/**
 * Writes the provenance rows of `events`, reading nothing but the events themselves (so a
 * replay of the ledger rebuilds the same rows). With `check`, it also refuses what must not
 * be recorded — references to sources or assertions not yet in the ledger, duplicates — and
 * because it runs under the ledger's head-row lock, those checks cannot race. Rows go in
 * first and the checks run after, one query per kind, so a batch of thousands costs a handful
 * of round trips; a failed check throws, and the whole append rolls back. Citations of
 * assertions in `known` (committed before this append began) are not probed again.
 */
export async function projectProvenance(
  tx: EntityManager,
  ledgerId: number,
  events: readonly LedgerEvent[],
  options: { check: boolean; known?: KnownAssertions },
): Promise<void> {
  const of = (type: string) => events.filter((e) => isProvenance(e, type));
  try {
    await insertSources(tx, ledgerId, of(PROVENANCE_EVENTS.source));
    const assertions = of(PROVENANCE_EVENTS.assertion);
    await insertAssertions(tx, ledgerId, assertions);
    if (options.check) await checkAssertionReferences(tx, ledgerId, assertions);
    const queries = of(PROVENANCE_EVENTS.query);
    if (options.check) await checkAuditTimes(tx, ledgerId, queries);
    await insertQueries(tx, ledgerId, queries);
    if (options.check) await checkContributions(tx, ledgerId, queries, options.known);
    await insertOperations(tx, ledgerId, of(PROVENANCE_EVENTS.operation));
  } catch (e) {
    throw asConflict(e) ?? e;
  }
}

function asConflict(e: unknown): ChainproofError | undefined {
  const err = e as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = err.code ?? err.driverError?.code;
  if (code !== '23505') return undefined;
  const what: Record<string, string> = {
    prov_sources_key: 'this source (content hash and locator) is recorded already',
    prov_assertions_pkey: 'this assertion is recorded already',
    prov_assertions_supersedes: 'that assertion is superseded already; supersede its successor instead',
    prov_query_audits_query_id: 'a query audit with this queryId is recorded already',
  };
  const constraint = err.constraint ?? err.driverError?.constraint ?? '';
  return new ChainproofError('CONFLICT', what[constraint] ?? 'a provenance record with this key exists already', { cause: e });
}

async function insertSources(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as SourcePayload);
  await tx.query(
    `INSERT INTO prov_sources (ledger_id, content_hash, locator, media_type, recorded_by, hlc_ms, event_idx, event_id)
     SELECT $1, ${hashAt('$2', 's.n')}, s.locator, s.media_type, s.actor, s.ms, s.idx, ${hashAt('$8', 's.n')}
       FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) WITH ORDINALITY AS s(locator, media_type, actor, ms, idx, n)`,
    [ledgerId, packHashes(p.map((s) => s.contentHash)), arrayLiteral(p, (s) => s.locator), arrayLiteral(p, (s) => s.mediaType ?? null),
      arrayLiteral(events, (e) => e.actor), arrayLiteral(events, (e) => e.hlc.physicalMs), arrayLiteral(events, (e) => e.index), idsOf(events)],
  );
}

async function insertAssertions(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as AssertionPayload);
  const supersedes = supersededOf(p);
  await tx.query(
    `INSERT INTO prov_assertions (ledger_id, hash, subject, predicate, value, lifecycle, confidence, source_hash, supersedes,
       recorded_by, hlc_ms, event_idx, event_id)
     SELECT $1, ${hashAt('$2', 'a.n')}, a.subject, a.predicate, a.value, a.lifecycle, a.confidence, ${hashAt('$8', 'a.n')},
       ${bytesAt('$9', 'a.s_at', 'a.s_len')}, a.actor, a.ms, a.idx, ${hashAt('$13', 'a.n')}
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $10::text[], $11::bigint[], $12::bigint[],
         $14::int[], $15::int[]) WITH ORDINALITY AS a(subject, predicate, value, lifecycle, confidence, actor, ms, idx, s_at, s_len, n)`,
    [ledgerId, packHashes(p.map((a) => a.hash)), arrayLiteral(p, (a) => a.subject), arrayLiteral(p, (a) => a.predicate),
      arrayLiteral(p, (a) => canonicalJson(a.value)), arrayLiteral(p, (a) => a.lifecycle), arrayLiteral(p, (a) => a.confidence),
      packHashes(p.map((a) => a.sourceHash)), supersedes.bytes, arrayLiteral(events, (e) => e.actor),
      arrayLiteral(events, (e) => e.hlc.physicalMs), arrayLiteral(events, (e) => e.index), idsOf(events),
      arrayLiteral(supersedes.at), arrayLiteral(supersedes.length)],
  );
}

/**
 * The probes below compare `event_idx + 0`, not `event_idx`: on tables not yet analysed (a
 * fresh ledger's first bulk load) the planner took `event_idx < …` as the index condition and
 * filtered every earlier row by hash, ≈ 100 µs a probe at 1,000 sources and growing with them.
 * As an expression it cannot be an index condition, so each probe is a look-up by hash.
 */
const EARLIER = (row: string, than: string) => `${row}.event_idx + 0 < ${than}`;

/**
 * An assertion's source and the assertion it supersedes must be in the ledger before it.
 * Checked from the payloads with index probes, like checkContributions, not by reading back
 * the rows just written. One probe per branch of a UNION: joined by OR in one WHERE, the two
 * probes ran as per-row subplans.
 */
async function checkAssertionReferences(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as AssertionPayload);
  const supersedes = supersededOf(p);
  const [missing] = await tx.query(
    `(SELECT 'source' AS kind, encode(a.hash, 'hex') AS hash
        FROM (SELECT u.idx, ${hashAt('$3', 'u.n')} AS hash FROM unnest($2::bigint[]) WITH ORDINALITY AS u(idx, n)) a
       WHERE NOT EXISTS (SELECT 1 FROM prov_sources s WHERE s.ledger_id = $1 AND s.content_hash = a.hash AND ${EARLIER('s', 'a.idx')})
       LIMIT 1)
     UNION ALL
     (SELECT 'supersedes', encode(a.hash, 'hex')
        FROM (SELECT u.idx, ${bytesAt('$4', 'u.s_at', 'u.s_len')} AS hash
                FROM unnest($2::bigint[], $5::int[], $6::int[]) AS u(idx, s_at, s_len) WHERE u.s_at > 0) a
       WHERE NOT EXISTS (SELECT 1 FROM prov_assertions o WHERE o.ledger_id = $1 AND o.hash = a.hash AND ${EARLIER('o', 'a.idx')})
       LIMIT 1)
     LIMIT 1`,
    [ledgerId, arrayLiteral(events, (e) => e.index), packHashes(p.map((a) => a.sourceHash)), supersedes.bytes,
      arrayLiteral(supersedes.at), arrayLiteral(supersedes.length)],
  );
  if (!missing) return;
  throw new ChainproofError(
    'BAD_USER_INPUT',
    missing.kind === 'source'
      ? `unknown source ${missing.hash}: record it with recordSource first`
      : `unknown assertion ${missing.hash} in supersedes`,
  );
}

async function insertQueries(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as QueryPayload);
  // Each audit's citations travel as comma-joined hex and weights: unnest cannot carry arrays
  // of different lengths, one per row.
  await tx.query(
    `INSERT INTO prov_query_audits (ledger_id, event_idx, event_id, query_id, agent_id, subject, predicate, lens, lifecycle_filter,
       result, result_hash, result_confidence, recorded_by, hlc_ms, assertion_hashes, weights)
     SELECT $1, idx, ${hashAt('$3', 't.n')}, qid, agent, subject, predicate, lens, string_to_array(lf, ','), result,
            ${hashAt('$11', 't.n')}, rc, actor, ms,
            ARRAY(SELECT decode(h, 'hex') FROM unnest(string_to_array(hs, ',')) AS h), string_to_array(ws, ',')::float8[]
       FROM unnest($2::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
         $12::float8[], $13::text[], $14::bigint[], $15::text[], $16::text[])
         WITH ORDINALITY AS t(idx, qid, agent, subject, predicate, lens, lf, result, rc, actor, ms, hs, ws, n)`,
    [ledgerId, arrayLiteral(events, (e) => e.index), idsOf(events), arrayLiteral(p, (q) => q.queryId), arrayLiteral(p, (q) => q.agentId),
      arrayLiteral(p, (q) => q.subject), arrayLiteral(p, (q) => q.predicate), arrayLiteral(p, (q) => q.lens ?? null),
      arrayLiteral(p, (q) => q.lifecycleFilter?.join(',') ?? null), arrayLiteral(p, (q) => canonicalJson(q.result)), packHashes(p.map((q) => q.resultHash)),
      arrayLiteral(p, (q) => q.resultConfidence ?? null), arrayLiteral(events, (e) => e.actor), arrayLiteral(events, (e) => e.hlc.physicalMs),
      arrayLiteral(p, (q) => q.contributingAssertions.map((c) => c.assertionHash).join(',')),
      arrayLiteral(p, (q) => q.contributingAssertions.map((c) => String(c.weight)).join(','))],
  );
}

/**
 * Reads of audits by time find a window's leaves by binary search (audit-leaves.ts), which is
 * exact only while audit times never go back along leaf order. The sequencer guarantees it;
 * this holds any future write path to it, for one look-up per append: a batch that would break
 * it is refused whole, rather than leave trace lines that reads would silently skip.
 */
async function checkAuditTimes(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const wrong = () => new ChainproofError('INTERNAL', 'a query audit would be recorded at an earlier time than the audit before it');
  for (let i = 1; i < events.length; i++) if (events[i]!.hlc.physicalMs < events[i - 1]!.hlc.physicalMs) throw wrong();
  const [before] = await tx.query(
    `SELECT hlc_ms FROM prov_query_audits WHERE ledger_id = $1 AND event_idx < $2 ORDER BY event_idx DESC LIMIT 1`,
    [ledgerId, events[0]!.index],
  );
  if (before && Number(before.hlc_ms) > events[0]!.hlc.physicalMs) throw wrong();
}

/**
 * A query audit may only cite assertions already in the ledger. Checked from the payloads, not
 * by reading back the rows just written: each citation is one primary-key probe (see EARLIER).
 * Read back by `event_idx = ANY(…)` during a bulk load, the planner chose to read every audit
 * of the ledger: 43 s for one batch at 520,000 audits.
 */
async function checkContributions(tx: EntityManager, ledgerId: number, events: LedgerEvent[], known?: KnownAssertions): Promise<void> {
  const cited = events.flatMap((e) =>
    (e.payload as QueryPayload).contributingAssertions
      .filter((c) => !known?.has(ledgerId, c.assertionHash))
      .map((c) => ({ idx: e.index, hash: c.assertionHash })),
  );
  if (cited.length === 0) return;
  const [unknown] = await tx.query(
    `SELECT encode(c.hash, 'hex') AS hash
       FROM (SELECT u.idx, ${hashAt('$3', 'u.n')} AS hash FROM unnest($2::bigint[]) WITH ORDINALITY AS u(idx, n)) c
      WHERE NOT EXISTS (SELECT 1 FROM prov_assertions a WHERE a.ledger_id = $1 AND a.hash = c.hash AND ${EARLIER('a', 'c.idx')})
      LIMIT 1`,
    [ledgerId, arrayLiteral(cited, (c) => c.idx), packHashes(cited.map((c) => c.hash))],
  );
  if (unknown) throw new ChainproofError('BAD_USER_INPUT', `unknown assertion ${unknown.hash} in contributingAssertions`);
}

async function insertOperations(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as OperationPayload);
  await tx.query(
    `INSERT INTO prov_operation_audits (ledger_id, event_idx, event_id, principal, operation_name, operation_type, document_hash,
       variables_hash, result_hash, duration_ms, hlc_ms)
     SELECT $1, o.idx, ${hashAt('$3', 'o.n')}, o.principal, o.name, o.type, ${hashAt('$7', 'o.n')}, ${hashAt('$8', 'o.n')},
       ${hashAt('$9', 'o.n')}, o.duration, o.ms
       FROM unnest($2::bigint[], $4::text[], $5::text[], $6::text[], $10::float8[], $11::bigint[])
         WITH ORDINALITY AS o(idx, principal, name, type, duration, ms, n)`,
    [ledgerId, arrayLiteral(events, (e) => e.index), idsOf(events), arrayLiteral(p, (o) => o.principal),
      arrayLiteral(p, (o) => o.operationName), arrayLiteral(p, (o) => o.operationType), packHashes(p.map((o) => o.documentHash)),
      packHashes(p.map((o) => o.variablesHash)), packHashes(p.map((o) => o.resultHash)), arrayLiteral(p, (o) => o.durationMs),
      arrayLiteral(events, (e) => e.hlc.physicalMs)],
  );
}
