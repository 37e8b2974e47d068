import { linkSync, mkdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { ChainproofError } from '../errors.js';

/** How long a claim on a stale lock may stand before it is taken for a claimant that died. */
const CLAIM_STALE_MS = 10_000;
const CLAIM_WAIT_MS = 20;

/**
 * Takes the lock file at `path` for this process, or throws UNAVAILABLE naming the live process
 * that holds it. Returns the release.
 *
 * The lock holds `<pid> <start time>`: a PID alone may, after a reboot or in a new container, name
 * some unrelated live process, which would then hold the directory for ever. It appears with its
 * contents whole, since an empty one would read as stale. A lock whose writer
 * is gone is stale, and replacing it takes a claim first (`<path>.claim`, a directory: making one
 * is atomic), so that of several processes finding the same stale lock only one replaces it and
 * the others find the new one held.
 *
 * @example const release = acquireDirLock('data/chainproof.lock'); ...; release();
 */
export function acquireDirLock(path: string): () => void {
  const mine = `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
  const claim = `${path}.claim`;
  for (;;) {
    if (createWhole(path, mine)) return () => rmSync(path, { force: true });
    const held = readIfThere(path);
    if (held === undefined) continue;
    const [pidText, started] = held.trim().split(' ');
    const holder = Number(pidText);
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder) && sameProcess(holder, started)) {
      throw new ChainproofError(
        'UNAVAILABLE',
        `data directory is in use by process ${holder}; stop it first or point CHAINPROOF_DATA_DIR elsewhere`,
      );
    }
    // The holder died (e.g. SIGKILL), or its PID now names another process: the lock is stale.
    if (!takeClaim(claim)) continue;
    try {
      // Another claimant may have replaced the stale lock between our read and our claim.
      if (readIfThere(path) === held) rmSync(path, { force: true });
    } finally {
      rmdirSync(claim);
    }
  }
}

/**
 * Creates `path` holding `content` unless it exists. Linked from a file written first, so that no
 * other process ever reads it empty (and takes it for stale); plain exclusive create where the
 * file system has no hard links.
 */
function createWhole(path: string, content: string): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, content);
    linkSync(temp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
  } finally {
    rmSync(temp, { force: true });
  }
  try {
    writeFileSync(path, content, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Whether this process now holds the claim; false after waiting a moment while another does. */
function takeClaim(claim: string): boolean {
  try {
    mkdirSync(claim);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  try {
    if (Date.now() - statSync(claim).mtimeMs > CLAIM_STALE_MS) rmdirSync(claim);
  } catch {
    // Released meanwhile.
  }
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, CLAIM_WAIT_MS);
  return false;
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
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
