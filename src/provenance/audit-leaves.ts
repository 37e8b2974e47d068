import type { DataSource } from 'typeorm';

/**
 * The leaves that hold a ledger's query audits recorded in a time window: `from` is the first
 * leaf that can hold one, `to` (when there is a later audit outside the window) the first that
 * cannot. A read of the window then walks an index in leaf order between the two.
 *
 * Exact because audit times never go back along leaf order. The projection takes only events
 * the server stamps itself (nothing else appends provenance records; a rebuild reads only the
 * server's own), and the server stamps an event after the ledger's latest HLC (nextHlc), which
 * is the highest of every event before it, whoever stamped those. So no index on time is
 * written for every recorded audit: each end is a binary search over the primary key, about
 * one look-up per halving, in one statement.
 *
 * @example auditLeafRange(db, 1, NO_BOUND, { fromMs: Date.parse('2026-12-01T03:00Z') }) // { from: 81234, to: undefined }
 */
export async function auditLeafRange(
  db: Pick<DataSource, 'query'>,
  ledgerId: number,
  bound: number,
  window: { fromMs?: number; toMs?: number },
): Promise<{ from: number; to: number | undefined }> {
  const params: unknown[] = [ledgerId, bound];
  const searches: string[] = [];
  const select = ['(SELECT end_leaf FROM last_audit) AS end_leaf'];
  // A search runs only if the last audit meets its test: else no leaf does (a window that ends now or later).
  const search = (name: string, test: string, ms: number) => {
    params.push(ms);
    searches.push(firstLeafWhere(name, `${test} $${params.length}`));
    select.push(`(SELECT min(b) FROM ${name}) AS ${name}`);
  };
  if (window.fromMs !== undefined) search('first_in', '>=', window.fromMs);
  if (window.toMs !== undefined) search('first_after', '>', window.toMs);
  const [ends] = await db.query(
    `WITH RECURSIVE last_audit AS (
       SELECT coalesce(l.event_idx + 1, 0)::bigint AS end_leaf, l.hlc_ms
         FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT q.event_idx, q.hlc_ms FROM prov_query_audits q WHERE q.ledger_id = $1 AND q.event_idx < $2
                             ORDER BY q.event_idx DESC LIMIT 1) l ON true
     )${searches.map((s) => `, ${s}`).join('')}
     SELECT ${select.join(', ')}`,
    params,
  );
  const end = Number(ends.end_leaf);
  return {
    // Not searched (no lower end), or searched in vain: every audit is after the start, or none is in the window.
    from: ends.first_in === undefined ? 0 : ends.first_in === null ? end : Number(ends.first_in),
    // No audit after the window yet: the end stays open, so one committed meanwhile is not cut off.
    to: ends.first_after === undefined || ends.first_after === null ? undefined : Number(ends.first_after),
  };
}

/**
 * A recursive CTE `name(a, b)` whose least `b` is the first leaf from which every audit's
 * `hlc_ms` meets `test`; empty when the last audit does not. Each step reads the first audit
 * at or after the midpoint of [a, b): if it meets the test, so does every later one, and the
 * answer is at most the midpoint; if not, no leaf up to that audit's is the answer.
 */
function firstLeafWhere(name: string, test: string): string {
  return `${name}(a, b) AS (
       SELECT 0::bigint, end_leaf FROM last_audit WHERE last_audit.hlc_ms ${test}
       UNION ALL
       SELECT CASE WHEN f.event_idx IS NULL OR f.hlc_ms ${test} THEN s.a ELSE f.event_idx + 1 END,
              CASE WHEN f.event_idx IS NULL OR f.hlc_ms ${test} THEN (s.a + s.b) / 2 ELSE s.b END
         FROM ${name} s
         LEFT JOIN LATERAL (
           SELECT q.event_idx, q.hlc_ms FROM prov_query_audits q
            WHERE q.ledger_id = $1 AND q.event_idx >= (s.a + s.b) / 2 AND q.event_idx < s.b
            ORDER BY q.event_idx LIMIT 1
         ) f ON true
        WHERE s.a < s.b
     )`;
}
