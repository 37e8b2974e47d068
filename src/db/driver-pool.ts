import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';

/** What TypeORM's `query` cannot pass to the driver: a statement's name, rows as arrays. */
export interface DriverQuery {
  text: string;
  values: unknown[];
  /** Parse and plan once per connection (see prepared). */
  name?: string;
  rowMode?: 'array';
}

export interface DriverPool {
  query<R>(q: DriverQuery): Promise<{ rows: R[] }>;
}

/** The `pg` pool under TypeORM's driver (the embedded database is reached through the same driver). */
export function driverPool(db: DataSource): DriverPool {
  return (db.driver as unknown as { master: DriverPool }).master;
}

/** What runs SQL: the data source, or a transaction's manager or runner. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/**
 * Runs `text` as a named prepared statement: each pooled connection parses and plans it once, and
 * later runs send only the name and values. Inside a transaction (`db` not the data source) it runs
 * as a plain statement on that transaction's connection. A point query's key look-ups spent more of their time in
 * parse and bind than in execution (BENCHMARKS.md). Only for statements whose plan cannot depend on
 * their values — look-ups by a unique key or a list of keys — since after five runs PostgreSQL may keep
 * one generic plan for all values. `text` is trusted SQL, never built from input; values are parameters.
 *
 * @example
 *   const rows = await prepared<{ hash: string }>(dataSource, `SELECT … WHERE ledger_id = $1 AND hash = $2`, [1, key]);
 */
export async function prepared<R>(db: Queryable, text: string, values: unknown[]): Promise<R[]> {
  if (!(db instanceof DataSource)) return db.query(text, values);
  const { rows } = await driverPool(db).query<R>({ name: statementName(text), text, values });
  return rows;
}

const names = new Map<string, string>();

/** A name per text: one process may prepare a few shapes of one look-up (findAudits' optional filters). */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `cp_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}
