import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/database.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** A closed, migrated embedded data directory that tests copy instead of creating their own (empty when on PostgreSQL). */
    embeddedTemplateDir: string;
  }
}

/**
 * Creating and migrating an embedded database takes seconds (PGlite's initdb); copying a closed,
 * migrated one takes a fraction of that. The embedded test run opens hundreds of them, so it is
 * done once here. Tests that are about a data directory's first start make their own, empty one.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.DATABASE_URL) {
    project.provide('embeddedTemplateDir', '');
    return () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'chainproof-template-'));
  const db = await openDatabase({ databaseUrl: undefined, dataDir: dir, dbPoolSize: 1 });
  await db.close();
  project.provide('embeddedTemplateDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}

