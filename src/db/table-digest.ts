import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';

const PAGE = 5000;

/**
 * SHA-256 over a table's rows as JSON text, in the order of `key` (unique within the rows
 * `where` selects), read a page at a time: a projection and its rebuild from the ledger hold
 * the same rows exactly when their digests agree. Table and column names are the caller's
 * constants, never input.
 *
 * @example await tableDigest(tx, 'prov_sources', ['event_idx'], { ledger_id: 3 })
 */
async function tableDigest(tx: EntityManager, table: string, key: string[], where: Record<string, unknown> = {}): Promise<string> {
  const hash = createHash('sha256');
  const fixed = Object.keys(where);
  const fixedValues = Object.values(where);
  const conditions = fixed.map((c, i) => `x.${c} = $${i + 1}`);
  const keys = key.map((k) => `x.${k}`).join(', ');
  const after = `(${keys}) > (${key.map((_, i) => `$${fixed.length + i + 1}`).join(', ')})`;
  const select = (paged: boolean) =>
    `SELECT to_jsonb(x)::text AS r, ${key.map((k, i) => `x.${k} AS k${i}`).join(', ')} FROM ${table} x
      ${[...conditions, ...(paged ? [after] : [])].map((c, i) => `${i === 0 ? 'WHERE' : 'AND'} ${c}`).join(' ')}
      ORDER BY ${keys} LIMIT ${PAGE}`;
  let last: unknown[] | undefined;
  for (;;) {
    const rows: Array<Record<string, unknown>> = await tx.query(select(last !== undefined), [...fixedValues, ...(last ?? [])]);
    for (const r of rows) hash.update(`${r.r as string}\n`);
    if (rows.length < PAGE) return hash.digest('hex');
    const end = rows[rows.length - 1]!;
    last = key.map((_, i) => end[`k${i}`]);
  }
}

/** A projection table as rebuildAndCompare digests it: `key` orders its rows (unique within those `where` selects). */
export interface DigestedTable {
  name: string;
  key: string[];
  where?: Record<string, unknown>;
}

/**
 * Rebuilds projection tables inside `tx` and names those whose rows differ from the live ones,
 * changing nothing: the live tables are digested, then temporary tables of the same names are
 * made, which shadow the live ones for the rest of the transaction (so the very code that wrote
 * the live rows writes these), `rebuild` fills them, and they are digested in turn. The
 * temporary tables stay until the transaction ends, for whatever else the caller reads of them.
 *
 * @example const differ = await rebuildAndCompare(tx, [{ name: 'gov_votes', key: ['proposal_id', 'voter'] }], replay)
 */
export async function rebuildAndCompare(tx: EntityManager, tables: readonly DigestedTable[], rebuild: () => Promise<void>): Promise<string[]> {
  const digest = (t: DigestedTable) => tableDigest(tx, t.name, t.key, t.where);
  const live = new Map<string, string>();
  for (const t of tables) live.set(t.name, await digest(t));
  for (const t of tables) await tx.query(`CREATE TEMP TABLE ${t.name} (LIKE public.${t.name} INCLUDING ALL) ON COMMIT DROP`);
  await rebuild();
  const differ: string[] = [];
  for (const t of tables) if ((await digest(t)) !== live.get(t.name)) differ.push(t.name);
  return differ;
}
