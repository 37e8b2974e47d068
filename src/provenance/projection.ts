import type { EntityManager } from 'typeorm';
import { hashAt, packHashes } from '../db/packed-bytes.js';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { canonicalJson } from './hashing.js';
import type { AssertionPayload, OperationPayload, QueryPayload, SourcePayload } from './records.js';

export const PROVENANCE_SUBSYSTEM = 'provenance';
export const PROVENANCE_EVENTS = {
  source: 'SourceRecorded',
  assertion: 'AssertionRecorded',
  query: 'QueryRecorded',
  operation: 'OperationAudited',
} as const;
export const PROVENANCE_EVENT_TYPES: string[] = Object.values(PROVENANCE_EVENTS);

const hex = (h: string) => Buffer.from(h, 'hex');
const idOf = (e: LedgerEvent) => hex(e.id);

/**
 * Writes the provenance rows of `events`, reading nothing but the events themselves (so a
 * replay of the ledger rebuilds the same rows). With `check`, it also refuses what must not
 * be recorded — references to sources or assertions not yet in the ledger, duplicates — and
 * because it runs under the ledger's head-row lock, those checks cannot race. Rows go in
 * first and the checks run after, one query per kind, so a batch of thousands costs a handful
 * of round trips; a failed check throws, and the whole append rolls back.
 */
export async function projectProvenance(
  tx: EntityManager,
  ledgerId: number,
  events: readonly LedgerEvent[],
  options: { check: boolean },
): Promise<void> {
  const of = (type: string) => events.filter((e) => e.type === type && e.subsystem === PROVENANCE_SUBSYSTEM);
  try {
    await insertSources(tx, ledgerId, of(PROVENANCE_EVENTS.source));
    const assertions = of(PROVENANCE_EVENTS.assertion);
    await insertAssertions(tx, ledgerId, assertions);
    if (options.check) await checkAssertionReferences(tx, ledgerId, assertions);
    const queries = of(PROVENANCE_EVENTS.query);
    await insertQueries(tx, ledgerId, queries);
    if (options.check) await checkContributions(tx, ledgerId, queries);
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
     SELECT $1, * FROM unnest($2::bytea[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bytea[])`,
    [ledgerId, p.map((s) => hex(s.contentHash)), p.map((s) => s.locator), p.map((s) => s.mediaType ?? null),
      events.map((e) => e.actor), events.map((e) => e.hlc.physicalMs), events.map((e) => e.index), events.map(idOf)],
  );
}

async function insertAssertions(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as AssertionPayload);
  await tx.query(
    `INSERT INTO prov_assertions (ledger_id, hash, subject, predicate, value, lifecycle, confidence, source_hash, supersedes,
       recorded_by, hlc_ms, event_idx, event_id)
     SELECT $1, * FROM unnest($2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::bytea[], $9::bytea[],
       $10::text[], $11::bigint[], $12::bigint[], $13::bytea[])`,
    [ledgerId, p.map((a) => hex(a.hash)), p.map((a) => a.subject), p.map((a) => a.predicate), p.map((a) => canonicalJson(a.value)),
      p.map((a) => a.lifecycle), p.map((a) => a.confidence), p.map((a) => hex(a.sourceHash)),
      p.map((a) => (a.supersedes ? hex(a.supersedes) : null)), events.map((e) => e.actor), events.map((e) => e.hlc.physicalMs),
      events.map((e) => e.index), events.map(idOf)],
  );
}

/**
 * An assertion's source and the assertion it supersedes must be in the ledger before it.
 * Checked from the payloads with index probes, like checkContributions, not by reading back
 * the rows just written.
 */
async function checkAssertionReferences(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as AssertionPayload);
  const [missing] = await tx.query(
    `SELECT NOT EXISTS (SELECT 1 FROM prov_sources s WHERE s.ledger_id = $1 AND s.content_hash = a.source_hash
                          AND s.event_idx < a.idx) AS no_source,
            encode(a.source_hash, 'hex') AS source_hash, encode(a.supersedes, 'hex') AS supersedes
       FROM unnest($2::bigint[], $3::bytea[], $4::bytea[]) AS a(idx, source_hash, supersedes)
      WHERE NOT EXISTS (SELECT 1 FROM prov_sources s WHERE s.ledger_id = $1 AND s.content_hash = a.source_hash
                          AND s.event_idx < a.idx)
         OR (a.supersedes IS NOT NULL AND NOT EXISTS (SELECT 1 FROM prov_assertions o WHERE o.ledger_id = $1
                          AND o.hash = a.supersedes AND o.event_idx < a.idx))
      LIMIT 1`,
    [ledgerId, events.map((e) => e.index), p.map((a) => hex(a.sourceHash)), p.map((a) => (a.supersedes ? hex(a.supersedes) : null))],
  );
  if (!missing) return;
  throw new ChainproofError(
    'BAD_USER_INPUT',
    missing.no_source
      ? `unknown source ${missing.source_hash}: record it with recordSource first`
      : `unknown assertion ${missing.supersedes} in supersedes`,
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
    [ledgerId, events.map((e) => e.index), packHashes(events.map((e) => e.id)), p.map((q) => q.queryId), p.map((q) => q.agentId),
      p.map((q) => q.subject), p.map((q) => q.predicate), p.map((q) => q.lens ?? null),
      p.map((q) => q.lifecycleFilter?.join(',') ?? null), p.map((q) => canonicalJson(q.result)), packHashes(p.map((q) => q.resultHash)),
      p.map((q) => q.resultConfidence ?? null), events.map((e) => e.actor), events.map((e) => e.hlc.physicalMs),
      p.map((q) => q.contributingAssertions.map((c) => c.assertionHash).join(',')),
      p.map((q) => q.contributingAssertions.map((c) => String(c.weight)).join(','))],
  );
}

/**
 * A query audit may only cite assertions already in the ledger. Checked from the payloads, not
 * by reading back the rows just written: each citation is one primary-key probe, which no
 * statistics can turn into a scan (read back by `event_idx = ANY(…)` during a bulk load, the
 * planner chose to read every audit of the ledger: 43 s for one batch at 520,000 audits).
 */
async function checkContributions(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  const cited = events.flatMap((e) => (e.payload as QueryPayload).contributingAssertions.map((c) => ({ idx: e.index, hash: c.assertionHash })));
  if (cited.length === 0) return;
  const [unknown] = await tx.query(
    `SELECT encode(c.hash, 'hex') AS hash
       FROM (SELECT u.idx, ${hashAt('$3', 'u.n')} AS hash FROM unnest($2::bigint[]) WITH ORDINALITY AS u(idx, n)) c
      WHERE NOT EXISTS (SELECT 1 FROM prov_assertions a WHERE a.ledger_id = $1 AND a.hash = c.hash AND a.event_idx < c.idx)
      LIMIT 1`,
    [ledgerId, cited.map((c) => c.idx), packHashes(cited.map((c) => c.hash))],
  );
  if (unknown) throw new ChainproofError('BAD_USER_INPUT', `unknown assertion ${unknown.hash} in contributingAssertions`);
}

async function insertOperations(tx: EntityManager, ledgerId: number, events: LedgerEvent[]): Promise<void> {
  if (events.length === 0) return;
  const p = events.map((e) => e.payload as OperationPayload);
  await tx.query(
    `INSERT INTO prov_operation_audits (ledger_id, event_idx, event_id, principal, operation_name, operation_type, document_hash,
       variables_hash, result_hash, duration_ms, hlc_ms)
     SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[], $9::bytea[],
       $10::float8[], $11::bigint[])`,
    [ledgerId, events.map((e) => e.index), events.map(idOf), p.map((o) => o.principal), p.map((o) => o.operationName),
      p.map((o) => o.operationType), p.map((o) => hex(o.documentHash)), p.map((o) => hex(o.variablesHash)),
      p.map((o) => hex(o.resultHash)), p.map((o) => o.durationMs), events.map((e) => e.hlc.physicalMs)],
  );
}
