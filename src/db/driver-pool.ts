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

interface DriverClient {
  query<R>(q: DriverQuery): Promise<{ rows: R[] }>;
  /** With an error, the connection is closed rather than returned to the pool. */
  release(error?: Error | boolean): void;
}

export interface DriverPool {
  query<R>(q: DriverQuery): Promise<{ rows: R[] }>;
  connect(): Promise<DriverClient>;
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
 * Data sources whose pooled connections are sessions of their own. Not the embedded database: its
 * connections share PGlite's one session, where a statement named by a closed connection outlives
 * it and the next connection's Parse of that name fails.
 */
const ownSessions = new WeakSet<DataSource>();

/** Lets `prepared` name statements on `db` (src/db/database.ts, for PostgreSQL). */
export function nameStatementsOn(db: DataSource): void {
  ownSessions.add(db);
}

/**
 * Server errors after which the connection's prepared statements cannot be trusted: a name the
 * session does not know (a pooler that switched sessions) or already has, or a plan whose result
 * type a migration changed. The connection is closed and the statement run once more on another,
 * which prepares it afresh: safe for the look-ups this serves, which only read.
 */
const STALE_STATEMENT = new Set(['26000', '42P05', '0A000']);

/**
 * Runs `text`, a read, as a named prepared statement: each pooled connection parses and plans it once, and
 * later runs send only the name and values. A point query's key look-ups spent more of their time in
 * parse and bind than in execution (BENCHMARKS.md). Only for statements whose plan cannot depend on
 * their values — look-ups by a unique key or a list of keys — since after five runs PostgreSQL may keep
 * one generic plan for all values. `text` is trusted SQL, never built from input; values are parameters.
 *
 * Anything but a data source marked by nameStatementsOn — a transaction's manager or runner, the
 * embedded database — runs it as a plain statement. Needs session pooling if a pooler stands between
 * (PgBouncer in transaction mode hands each statement a different session).
 *
 * @example
 *   const rows = await prepared<{ hash: string }>(dataSource, `SELECT … WHERE ledger_id = $1 AND hash = $2`, [1, key]);
 */
export async function prepared<R>(db: Queryable, text: string, values: unknown[]): Promise<R[]> {
  if (!(db instanceof DataSource) || !ownSessions.has(db)) return db.query(text, values);
  try {
    return await onOneConnection<R>(db, text, values);
  } catch (e) {
    if (!STALE_STATEMENT.has((e as { code?: string }).code!)) throw e;
    return onOneConnection<R>(db, text, values); // on another connection: that one was closed
  }
}

async function onOneConnection<R>(db: DataSource, text: string, values: unknown[]): Promise<R[]> {
  const client = await driverPool(db).connect();
  try {
    const { rows } = await client.query<R>({ name: statementName(text), text, values });
    client.release();
    return rows;
  } catch (e) {
    // An error the server reports for the statement (bad input, say) leaves the connection fit for use, as
    // TypeORM's query does; a broken connection or a stale statement does not.
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    const fit = typeof severity === 'string' && typeof code === 'string' && !STALE_STATEMENT.has(code);
    client.release(fit ? undefined : (e as Error));
    throw e;
  }
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
