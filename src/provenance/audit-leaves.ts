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
 * two look-ups per halving, in one statement.
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
  const select = ['(SELECT n FROM top) AS n'];
  const search = (name: string, inWindow: string, ms: number) => {
    params.push(ms);
    searches.push(firstLeafWhere(name, `${inWindow} $${params.length}`));
    select.push(`(SELECT min(b) FROM ${name}) AS ${name}`);
  };
  if (window.fromMs !== undefined) search('first_in', '>=', window.fromMs);
  if (window.toMs !== undefined) search('first_after', '>', window.toMs);
  const [r] = await db.query(
    `WITH RECURSIVE top AS (
       SELECT coalesce((SELECT q.event_idx + 1 FROM prov_query_audits q WHERE q.ledger_id = $1 AND q.event_idx < $2
                         ORDER BY q.event_idx DESC LIMIT 1), 0)::bigint AS n
     )${searches.map((s) => `, ${s}`).join('')}
     SELECT ${select.join(', ')}`,
    params,
  );
  const end = Number(r.n);
  const firstAfter = r.first_after === undefined ? end : Number(r.first_after);
  return {
    from: r.first_in === undefined ? 0 : Number(r.first_in),
    // No audit after the window yet: leave the end open, so one committed meanwhile is not cut off.
    to: firstAfter < end ? firstAfter : undefined,
  };
}

/**
 * A recursive CTE `name(a, b)` whose least `b` is the first leaf from which every audit's
 * `hlc_ms` meets `test` (or past the last audit). Each step probes the first audit at or after
 * the midpoint of [a, b): if it meets the test, so does every later one, and the answer is at
 * most the midpoint; if not, no leaf up to that audit's is the answer.
 */
function firstLeafWhere(name: string, test: string): string {
  return `${name}(a, b) AS (
       SELECT 0::bigint, n FROM top
       UNION ALL
       SELECT CASE WHEN p.ok THEN s.a ELSE p.next + 1 END, CASE WHEN p.ok THEN p.mid ELSE s.b END
         FROM ${name} s
         CROSS JOIN LATERAL (
           SELECT f.mid, f.next,
                  f.next IS NULL OR (SELECT q.hlc_ms FROM prov_query_audits q WHERE q.ledger_id = $1 AND q.event_idx = f.next) ${test} AS ok
             FROM (SELECT (s.a + s.b) / 2 AS mid,
                          (SELECT q.event_idx FROM prov_query_audits q
                            WHERE q.ledger_id = $1 AND q.event_idx >= (s.a + s.b) / 2 AND q.event_idx < s.b
                            ORDER BY q.event_idx LIMIT 1) AS next) f
         ) p
        WHERE s.a < s.b
     )`;
}
