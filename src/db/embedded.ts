import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ChainproofError } from '../errors.js';
import { acquireDirLock } from './dir-lock.js';
import { openDurablePGlite } from './durable-pglite.js';

export interface EmbeddedPostgres {
  url: string;
  close(): Promise<void>;
}

/**
 * PGlite in `dataDir/pg`, served on a loopback port so TypeORM's ordinary `postgres`
 * driver (and its pool) talks to it as to any PostgreSQL.
 *
 * PGlite is single-process: a lock file refuses a second server or CLI on the same
 * directory instead of letting two of them corrupt it. Its commits reach the disk before they
 * are acknowledged (openDurablePGlite).
 */
export async function startEmbeddedPostgres(dataDir: string, maxConnections: number): Promise<EmbeddedPostgres> {
  const release = usableDir(dataDir, () => {
    mkdirSync(dataDir, { recursive: true });
    return acquireDirLock(join(dataDir, 'chainproof.lock'));
  });
  try {
    const db = await openDurablePGlite(join(dataDir, 'pg'));
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
    await server.start();
    const port = (server as unknown as { port: number }).port;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async close() {
        await server.stop();
        await db.close();
        release();
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}

/** A data directory that cannot be made or written (read-only, under a file, no permission) is the operator's setting to fix. */
function usableDir<T>(dataDir: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code !== 'string' || typeof err.syscall !== 'string') throw e;
    throw new ChainproofError('CONFIG_INVALID', `data directory ${dataDir} cannot be used (CHAINPROOF_DATA_DIR): ${err.message}`, { cause: e });
  }
}
