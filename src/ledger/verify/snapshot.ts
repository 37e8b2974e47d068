import type { DataSource } from 'typeorm';
import type { Queryable } from '../../db/driver-pool.js';
import { CopyOutQuery } from './copy-out.js';

/** The subset of a node-postgres client verification uses. */
interface PgClient {
  query(config: { text: string; values?: unknown[] }): Promise<{ rows: any[] }>;
  query(submittable: CopyOutQuery): unknown;
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
  /**
   * The rows of `select` in PostgreSQL's binary COPY format (see BinaryCopyReader); with
   * `shared`, in a SharedArrayBuffer; `sizeHint`: the bytes expected. No parameters: inline them.
   */
  copy(select: string, shared?: boolean, sizeHint?: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** What TypeORM's PostgreSQL query runner offers beyond QueryRunner: release with an error destroys the connection. */
interface PgRunner {
  connect(): Promise<unknown>;
  release(): Promise<void>;
  releasePostgresConnection?(err?: Error): Promise<void>;
}

export async function openSnapshot(ds: DataSource): Promise<Snapshot> {
  const runner = ds.createQueryRunner() as unknown as PgRunner;
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
  const enqueue = <R>(send: () => Promise<R>): Promise<R> => {
    const run = tail.then(send);
    tail = run.catch(() => undefined);
    return run;
  };
  return {
    query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      if (closed) return Promise.reject(new Error('verification snapshot is closed'));
      return enqueue(() => client.query({ text: sql, values: params })).then((r) => r.rows as T[]);
    },
    copy(select: string, shared = false, sizeHint?: number): Promise<Buffer> {
      if (closed) return Promise.reject(new Error('verification snapshot is closed'));
      return enqueue(() => {
        const q = new CopyOutQuery(`COPY (${select}) TO STDOUT (FORMAT binary)`, shared, sizeHint);
        client.query(q);
        return q.promise;
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await enqueue(() => client.query({ text: 'ROLLBACK' }));
      } catch (e) {
        // A connection that cannot even roll back must not go back to the pool.
        if (runner.releasePostgresConnection) await runner.releasePostgresConnection(e as Error);
        else await runner.release();
        return;
      }
      await runner.release();
    },
  };
}
