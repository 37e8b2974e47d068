import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';

/**
 * A fresh, migrated database for one test file: a new PostgreSQL database when DATABASE_URL is
 * set (CI), else a new embedded PGlite in a temporary directory; either made from the run's
 * migrated template (test/support/global-setup.ts).
 */
export interface TestDatabase extends Database {
  /** Connection settings a child server process can use to reach the same database. */
  env: Record<string, string>;
  /** Drops the database (PostgreSQL) or the data directory (embedded). */
  destroy(): Promise<void>;
}

export const usingPostgres = (): boolean => Boolean(process.env.DATABASE_URL);

/**
 * A new PostgreSQL database beside DATABASE_URL's: empty, or a copy of `template`.
 *
 * @example const { url, drop } = await freshDatabaseUrl({ template: inject('postgresTemplate') });
 */
export async function freshDatabaseUrl({ prefix = 'cp_test', template = '' }: { prefix?: string; template?: string } = {}): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL!;
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** `poolSize` applies to PostgreSQL; the embedded database always has one connection. */
export async function openTestDatabase({ poolSize = 8 }: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (usingPostgres()) {
    const fresh = await freshDatabaseUrl({ template: inject('postgresTemplate') });
    const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '', dbPoolSize: poolSize });
    return {
      ...db,
      env: { DATABASE_URL: fresh.url },
      async destroy() {
        await db.close();
        await fresh.drop();
      },
    };
  }
  const dir = embeddedDataDir();
  const db = await openDatabase({ databaseUrl: undefined, dataDir: dir, dbPoolSize: 4 });
  return {
    ...db,
    env: { CHAINPROOF_DATA_DIR: dir },
    async destroy() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A new embedded data directory, already created and migrated: a copy of the run's template
 * (test/support/global-setup.ts), so that only tests about a first start pay for PGlite's initdb.
 */
export function embeddedDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chainproof-test-'));
  const template = inject('embeddedTemplateDir');
  if (template) cpSync(template, dir, { recursive: true });
  return dir;
}

/** A throwaway directory, empty: for files a test writes, or a data directory's first start. */
export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'chainproof-data-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Where a child server process keeps its data for one test file: a fresh, migrated PostgreSQL
 * database (DATABASE_URL set) or embedded data directory; `cleanup` removes it.
 */
export async function serverBackend(): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (usingPostgres()) {
    const db = await freshDatabaseUrl({ template: inject('postgresTemplate') });
    return { env: { DATABASE_URL: db.url }, cleanup: db.drop };
  }
  const dir = embeddedDataDir();
  return { env: { CHAINPROOF_DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}
