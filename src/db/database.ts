import 'reflect-metadata';
import { DataSource, MigrationExecutor } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import { DEFAULT_DB_LOCK_TIMEOUT_MS, type Config } from '../config.js';
import { ChainproofError } from '../errors.js';
import { ledgerEntities } from '../ledger/entities/index.js';
import { nameStatementsOn } from './driver-pool.js';
import { startEmbeddedPostgres } from './embedded.js';

/** Socket slots for the single pooled connection, with headroom for a reconnect racing a close. */
const EMBEDDED_SOCKET_CONNECTIONS = 4;

export interface Database {
  dataSource: DataSource;
  kind: 'postgres' | 'embedded';
  close(): Promise<void>;
}

/**
 * Opens PostgreSQL (`DATABASE_URL`) or the embedded PGlite and brings the schema up to
 * date with the migrations. The schema is never synchronised from entities.
 */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolSize'> & Partial<Pick<Config, 'dbLockTimeoutMs'>>,
  options: { runMigrations?: boolean } = {},
): Promise<Database> {
  // PGlite is one session: pglite-socket keeps a connection's messages together only inside an
  // explicit transaction, so two pooled connections can interleave each other's extended-protocol
  // messages. One connection is exactly as fast (PGlite runs one statement at a time) and safe.
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, EMBEDDED_SOCKET_CONNECTIONS);
  const url = config.databaseUrl ?? embedded!.url;
  const poolSize = embedded ? 1 : config.dbPoolSize;
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    entities: ledgerEntities,
    migrations,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 30_000,
      // A stalled process must not hold a ledger's head-row lock (and every other process's appends) forever.
      // The sequencer needs READ COMMITTED (each statement sees what the head lock's last holder committed):
      // set here once per connection, whatever the database's default, rather than by a `SET TRANSACTION`
      // round trip in every append. The embedded database keeps PostgreSQL's default, READ COMMITTED.
      ...(embedded
        ? {}
        : { options: `-c lock_timeout=${config.dbLockTimeoutMs ?? DEFAULT_DB_LOCK_TIMEOUT_MS} -c idle_in_transaction_session_timeout=60000 -c default_transaction_isolation=read\\ committed` }),
    },
  });
  if (!embedded) nameStatementsOn(dataSource);
  try {
    await dataSource.initialize();
    if (options.runMigrations !== false) await migrateUnderLock(dataSource);
  } catch (e) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.close();
    throw refusedConnection(e) ?? e;
  }
  return {
    dataSource,
    kind: embedded ? 'embedded' : 'postgres',
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.close();
    },
  };
}

/**
 * The server answered but would not take the connection: bad credentials or role (class 28), starting
 * up or shutting down, too many connections. The operator's to fix, not an internal error.
 */
function refusedConnection(e: unknown): ChainproofError | undefined {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !(code.startsWith('28') || ['57P01', '57P02', '57P03', '53300'].includes(code))) return undefined;
  return new ChainproofError('UNAVAILABLE', `the database refused the connection: ${(e as Error).message}`, { cause: e });
}

const MIGRATION_LOCK_POLL_MS = 100;

/**
 * Several servers may start at once on one database; only one may migrate at a time. The
 * migrations run on the connection that holds the lock, so a pool of one suffices.
 */
async function migrateUnderLock(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Polled rather than waited for: a session blocked in pg_advisory_lock holds a snapshot, and
    // the holder's CREATE INDEX CONCURRENTLY waits for every older snapshot to go: a deadlock, and
    // one of two servers started together on a new database failed. Between tries none is held.
    while (!(await runner.query('SELECT pg_try_advisory_lock(7235001) AS locked'))[0].locked) {
      await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_POLL_MS));
    }
    try {
      const executor = new MigrationExecutor(dataSource, runner);
      // Each in its own transaction, so one may run outside any (an index built CONCURRENTLY).
      executor.transaction = 'each';
      await executor.executePendingMigrations();
    } finally {
      await runner.query('SELECT pg_advisory_unlock(7235001)');
    }
  } finally {
    await runner.release();
  }
}
