import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { tempDataDir } from '../support/db.js';

/** The file behind each descriptor the embedded database asked to sync, read as it asked. */
const synced = vi.hoisted(() => [] as string[]);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fsyncSync = (fd: number) => {
    synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    fs.fsyncSync(fd);
  };
  return { ...fs, fsyncSync, default: { ...fs, fsyncSync } };
});

/**
 * PGlite as shipped acknowledges a commit that is still only in the OS page cache (fsync off,
 * and no fsync in its file system): a power cut could take acknowledged events with it.
 */
describe('the embedded database', () => {
  const data = tempDataDir();
  let db: EmbeddedPostgres;
  let client: pg.Client;
  beforeAll(async () => {
    db = await startEmbeddedPostgres(data.dir, 2);
    client = new pg.Client(db.url);
    await client.connect();
  }, 120_000);
  afterAll(async () => {
    await client?.end();
    await db?.close();
    data.remove();
  });

  it('runs with fsync on, through a sync its file system carries out', async () => {
    const setting = async (name: string) => (await client.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v;
    expect(await setting('fsync')).toBe('on');
    expect(await setting('wal_sync_method')).toBe('fsync');
  });

  it('syncs the write-ahead log to disk at each commit, before answering it', async () => {
    await client.query('CREATE TABLE durable (n int)');
    const wal = join(data.dir, 'pg', 'pg_wal');
    for (let n = 1; n <= 3; n++) {
      const before = synced.filter((p) => p.startsWith(wal)).length;
      await client.query('INSERT INTO durable VALUES ($1)', [n]);
      expect(synced.filter((p) => p.startsWith(wal)).length, `commit ${n}`).toBeGreaterThan(before);
    }
  });
});
