import type { DataSource } from 'typeorm';
import type { Queryable } from '../tree-store.js';

/** The subset of a node-postgres client verification uses. */
interface PgClient {
  query(config: { text: string; values?: unknown[] }): Promise<{ rows: any[] }>;
}

/**
 * One connection holding a REPEATABLE READ, READ ONLY transaction: every query of a
 * verification sees the same snapshot, so appends committed meanwhile neither show up
 * half-way (an event without its tree nodes) nor look like tampering (events past the head).
 *
 * Queries go straight to the driver's client: TypeORM adds nothing here but per-query
 * overhead. Callers may issue several queries at once: they are queued here and each is sent
 * the moment the one before completes (before its caller resumes), which is what lets the
 * verifier fetch page n+1 while it hashes page n. (node-postgres has its own queue, but
 * using it is deprecated.)
 * Everything must go through this snapshot: on the embedded database another connection
 * would wait for this transaction to end.
 */
export interface Snapshot extends Queryable {
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openSnapshot(ds: DataSource): Promise<Snapshot> {
  const runner = ds.createQueryRunner();
  let client: PgClient;
  try {
    client = (await runner.connect()) as PgClient;
    await client.query({ text: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' });
  } catch (e) {
    await runner.release();
    throw e;
  }
  let closed = false;
  let tail: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(text: string, values: unknown[]): Promise<T[]> => {
    const run = tail.then(() => client.query({ text, values }));
    tail = run.catch(() => undefined);
    return run.then((r) => r.rows as T[]);
  };
  return {
    query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      if (closed) return Promise.reject(new Error('verification snapshot is closed'));
      return enqueue<T>(sql, params);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await enqueue('ROLLBACK', []);
      } finally {
        await runner.release();
      }
    },
  };
}
