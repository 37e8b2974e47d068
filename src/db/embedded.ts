import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ChainproofError } from '../errors.js';

export interface EmbeddedPostgres {
  url: string;
  close(): Promise<void>;
}

/**
 * PGlite in `dataDir/pg`, served on a loopback port so TypeORM's ordinary `postgres`
 * driver (and its pool) talks to it as to any PostgreSQL.
 *
 * PGlite is single-process: a lock file refuses a second server or CLI on the same
 * directory instead of letting two of them corrupt it.
 */
export async function startEmbeddedPostgres(dataDir: string, maxConnections: number): Promise<EmbeddedPostgres> {
  const release = usableDir(dataDir, () => {
    mkdirSync(dataDir, { recursive: true });
    return acquireDirLock(join(dataDir, 'chainproof.lock'));
  });
  try {
    const db = await PGlite.create(join(dataDir, 'pg'));
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

/**
 * The lock holds `<pid> <start time>`: a PID alone may, after a reboot or in a new container, name
 * some unrelated live process, which would then hold the directory for ever.
 */
function acquireDirLock(path: string): () => void {
  const mine = `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
  try {
    writeFileSync(path, mine, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const [pidText, started] = readFileSync(path, 'utf8').trim().split(' ');
    const holder = Number(pidText);
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder) && sameProcess(holder, started)) {
      throw new ChainproofError(
        'UNAVAILABLE',
        `data directory is in use by process ${holder}; stop it first or point CHAINPROOF_DATA_DIR elsewhere`,
      );
    }
    // The holder died (e.g. SIGKILL), or its PID now names another process: the lock is stale.
    writeFileSync(path, mine);
  }
  return () => rmSync(path, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the live `pid` is the process that wrote the lock; without a start time to compare (older lock, no /proc), assumed so. */
function sameProcess(pid: number, recorded: string | undefined): boolean {
  const now = startTime(pid);
  return recorded === undefined || now === undefined || now === recorded;
}

/**
 * When `pid` started, in clock ticks since boot (Linux's /proc/<pid>/stat, field 22), or undefined
 * where there is no /proc. The command name in field 2 may hold spaces and parentheses, so fields
 * are counted from its closing parenthesis.
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
