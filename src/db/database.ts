import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import type { Config } from '../config.js';
import { ledgerEntities } from '../ledger/entities/index.js';
import { startEmbeddedPostgres } from './embedded.js';

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
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolSize'>,
  options: { runMigrations?: boolean } = {},
): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, config.dbPoolSize);
  const url = config.databaseUrl ?? embedded!.url;
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    entities: ledgerEntities,
    migrations,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: { max: config.dbPoolSize, connectionTimeoutMillis: 30_000 },
  });
  try {
    await dataSource.initialize();
    if (options.runMigrations !== false) await migrateUnderLock(dataSource);
  } catch (e) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.close();
    throw e;
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

/** Several servers may start at once on one database; only one may migrate at a time. */
async function migrateUnderLock(dataSource: DataSource): Promise<void> {
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock(7235001)');
    try {
      await dataSource.runMigrations();
    } finally {
      await lockRunner.query('SELECT pg_advisory_unlock(7235001)');
    }
  } finally {
    await lockRunner.release();
  }
}
