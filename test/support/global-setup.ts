import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/database.js';
import { freshDatabaseUrl } from './db.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** A closed, migrated embedded data directory that tests copy instead of creating their own ('' on PostgreSQL). */
    embeddedTemplateDir: string;
    /** A migrated PostgreSQL database that test databases are created from ('' on the embedded database). */
    postgresTemplate: string;
  }
}

/**
 * Creating and migrating an embedded database takes seconds (PGlite's initdb); copying a closed,
 * migrated one takes a fraction of that. A PostgreSQL database made from a migrated template skips
 * the migrations' round trips. The suite opens hundreds of databases, so the migrating is done once
 * here. Tests that are about a first start or about migrating make their own, empty database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DATABASE_URL) {
    const template = await freshDatabaseUrl({ prefix: 'cp_template' });
    const db = await openDatabase({ databaseUrl: template.url, dataDir: '', dbPoolSize: 1 });
    await db.close();
    project.provide('embeddedTemplateDir', '');
    project.provide('postgresTemplate', template.name);
    return template.drop;
  }
  const dir = mkdtempSync(join(tmpdir(), 'chainproof-template-'));
  const db = await openDatabase({ databaseUrl: undefined, dataDir: dir, dbPoolSize: 1 });
  await db.close();
  project.provide('embeddedTemplateDir', dir);
  project.provide('postgresTemplate', '');
  return async () => rmSync(dir, { recursive: true, force: true });
}

