import type { EntityManager } from 'typeorm';
import { binaryArray } from '../db/binary-array.js';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { canonicalExchange } from './hashing.js';
import type { KnownAssertions } from './known-assertions.js';
import { resultTextOf, type AssertionPayload, type OperationPayload, type QueryPayload, type SourcePayload } from './records.js';

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

/** The events' ids, as a bytea[]. */
const idsOf = (events: readonly LedgerEvent[]) => binaryArray('hex', events, (e) => e.id);

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
     SELECT $1, s.* FROM unnest($2::bytea[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bytea[]) AS s`,
    [ledgerId, binaryArray('hex', p, (s) => s.contentHash), binaryArray('text', p, (s) => s.locator), binaryArray('text', p, (s) => s.mediaType),
      binaryArray('text', events, (e) => e.actor), binaryArray('int8', events, (e) => e.hlc.physicalMs), binaryArray('int8', events, (e) => e.index),
      idsOf(events)],
  );
}

async function insertAssertions(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as AssertionPayload);
  await tx.query(
    `INSERT INTO prov_assertions (ledger_id, hash, subject, predicate, value, lifecycle, confidence, source_hash, supersedes,
       recorded_by, hlc_ms, event_idx, event_id)
     SELECT $1, a.* FROM unnest($2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::bytea[], $9::bytea[],
       $10::text[], $11::bigint[], $12::bigint[], $13::bytea[]) AS a`,
    [ledgerId, binaryArray('hex', p, (a) => a.hash), binaryArray('text', p, (a) => a.subject), binaryArray('text', p, (a) => a.predicate),
      binaryArray('text', p, (a) => canonicalExchange(a.value)), binaryArray('text', p, (a) => a.lifecycle), binaryArray('float8', p, (a) => a.confidence),
      binaryArray('hex', p, (a) => a.sourceHash), binaryArray('hex', p, (a) => a.supersedes), binaryArray('text', events, (e) => e.actor),
      binaryArray('int8', events, (e) => e.hlc.physicalMs), binaryArray('int8', events, (e) => e.index), idsOf(events)],
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
  const [missing] = await tx.query(
    `(SELECT 'source' AS kind, encode(a.hash, 'hex') AS hash
        FROM unnest($2::bigint[], $3::bytea[]) AS a(idx, hash)
       WHERE NOT EXISTS (SELECT 1 FROM prov_sources s WHERE s.ledger_id = $1 AND s.content_hash = a.hash AND ${EARLIER('s', 'a.idx')})
       LIMIT 1)
     UNION ALL
     (SELECT 'supersedes', encode(a.hash, 'hex')
        FROM unnest($2::bigint[], $4::bytea[]) AS a(idx, hash)
       WHERE a.hash IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM prov_assertions o WHERE o.ledger_id = $1 AND o.hash = a.hash AND ${EARLIER('o', 'a.idx')})
       LIMIT 1)
     LIMIT 1`,
    [ledgerId, binaryArray('int8', events, (e) => e.index), binaryArray('hex', p, (a) => a.sourceHash), binaryArray('hex', p, (a) => a.supersedes)],
  );
  if (!missing) return;
  throw new ChainproofError(
    'BAD_USER_INPUT',
    missing.kind === 'source'
      ? `unknown source ${missing.hash}: record it with recordSource first`
      : `unknown assertion ${missing.hash} in supersedes`,
  );
}

/**
 * A batch's rows go in grouped by agent (in ledger order within each agent), so an agent's
 * audits of one batch share heap pages: a trace reads one agent's audits, and a batch that
 * mixes a thousand agents written in ledger order would put each of them on its own page.
 */
async function insertQueries(tx: EntityManager, ledgerId: number, inLedgerOrder: LedgerEvent[]): Promise<void> {
  if (inLedgerOrder.length === 0) return;
  // Array.prototype.sort is stable: ledger order holds within each agent.
  const events = [...inLedgerOrder].sort((a, b) => {
    const x = (a.payload as QueryPayload).agentId;
    const y = (b.payload as QueryPayload).agentId;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const p = events.map((e) => e.payload as QueryPayload);
  // Each audit's citations travel as comma-joined hex and weights: unnest cannot carry arrays
  // of different lengths, one per row.
  await tx.query(
    `INSERT INTO prov_query_audits (ledger_id, event_idx, event_id, query_id, agent_id, subject, predicate, lens, lifecycle_filter,
       result, result_hash, result_confidence, recorded_by, hlc_ms, assertion_hashes, weights)
     SELECT $1, idx, id, qid, agent, subject, predicate, lens, string_to_array(lf, ','), result, result_hash, rc, actor, ms,
            ARRAY(SELECT decode(h, 'hex') FROM unnest(string_to_array(hs, ',')) AS h), string_to_array(ws, ',')::float8[]
       FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
         $11::bytea[], $12::float8[], $13::text[], $14::bigint[], $15::text[], $16::text[])
         AS t(idx, id, qid, agent, subject, predicate, lens, lf, result, result_hash, rc, actor, ms, hs, ws)`,
    [ledgerId, binaryArray('int8', events, (e) => e.index), idsOf(events), binaryArray('text', p, (q) => q.queryId),
      binaryArray('text', p, (q) => q.agentId), binaryArray('text', p, (q) => q.subject), binaryArray('text', p, (q) => q.predicate),
      binaryArray('text', p, (q) => q.lens), binaryArray('text', p, (q) => q.lifecycleFilter?.join(',')),
      binaryArray('text', p, resultTextOf), binaryArray('hex', p, (q) => q.resultHash),
      binaryArray('float8', p, (q) => q.resultConfidence), binaryArray('text', events, (e) => e.actor),
      binaryArray('int8', events, (e) => e.hlc.physicalMs),
      binaryArray('text', p, (q) => q.contributingAssertions.map((c) => c.assertionHash).join(',')),
      binaryArray('text', p, (q) => q.contributingAssertions.map((c) => String(c.weight)).join(','))],
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
       FROM unnest($2::bigint[], $3::bytea[]) AS c(idx, hash)
      WHERE NOT EXISTS (SELECT 1 FROM prov_assertions a WHERE a.ledger_id = $1 AND a.hash = c.hash AND ${EARLIER('a', 'c.idx')})
      LIMIT 1`,
    [ledgerId, binaryArray('int8', cited, (c) => c.idx), binaryArray('hex', cited, (c) => c.hash)],
  );
  if (unknown) throw new ChainproofError('BAD_USER_INPUT', `unknown assertion ${unknown.hash} in contributingAssertions`);
}

async function insertOperations(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as OperationPayload);
  await tx.query(
    `INSERT INTO prov_operation_audits (ledger_id, event_idx, event_id, principal, operation_name, operation_type, document_hash,
       variables_hash, result_hash, duration_ms, hlc_ms)
     SELECT $1, o.* FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[], $9::bytea[],
       $10::float8[], $11::bigint[]) AS o`,
    [ledgerId, binaryArray('int8', events, (e) => e.index), idsOf(events), binaryArray('text', p, (o) => o.principal),
      binaryArray('text', p, (o) => o.operationName), binaryArray('text', p, (o) => o.operationType), binaryArray('hex', p, (o) => o.documentHash),
      binaryArray('hex', p, (o) => o.variablesHash), binaryArray('hex', p, (o) => o.resultHash), binaryArray('float8', p, (o) => o.durationMs),
      binaryArray('int8', events, (e) => e.hlc.physicalMs)],
  );
}
