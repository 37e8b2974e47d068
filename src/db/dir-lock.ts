import { createHash } from 'node:crypto';
import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ChainproofError } from '../errors.js';

/** How long to wait before looking again at a claim a live process holds (it holds one only for a few system calls). */
const CLAIM_WAIT_MS = 20;

/**
 * Takes the lock file at `path` for this process, or throws UNAVAILABLE naming the live process
 * that holds it. Returns the release.
 *
 * The lock holds `<pid> <start time>`: a PID alone may, after a reboot or in a new container, name
 * some unrelated live process, which would then hold the directory for ever. It appears with its
 * contents whole, since an empty one would read as stale. A lock whose writer is gone is stale, and
 * only the process that first creates a claim named after those very contents removes it, so of
 * several processes finding the same stale lock only one replaces it and the others find the new
 * one held. A claim is no lock of its own with a timeout: its holder is judged alive or dead as a
 * lock's is, and the claim of a dead claimant is itself removed under a claim named after it. No
 * waiting on clocks, and a process that stands still however long keeps what it holds.
 *
 * @example const release = acquireDirLock('data/chainproof.lock'); ...; release();
 */
export function acquireDirLock(path: string): () => void {
  const mine = `${process.pid} ${startTime(process.pid) ?? ''}`.trim();
  for (;;) {
    if (createWhole(path, mine)) {
      return () => {
        if (readIfThere(path) === mine) rmSync(path, { force: true });
      };
    }
    const held = readIfThere(path);
    if (held === undefined) continue;
    const holder = liveHolder(held);
    if (holder !== undefined) {
      throw new ChainproofError(
        'UNAVAILABLE',
        `data directory is in use by process ${holder}; stop it first or point CHAINPROOF_DATA_DIR elsewhere`,
      );
    }
    // The holder died (e.g. SIGKILL), or its PID now names another process: the lock is stale.
    removeStale(path, path, held, mine);
  }
}

/**
 * Removes `file` if it still holds `content`, written by a process that is gone. The claim is named
 * after the file and those contents, and contents name one process for ever (PID and start time),
 * so a claim is taken at most once while the stale contents are there to remove: whoever takes it
 * after they are gone finds other contents, or none, and removes nothing.
 */
function removeStale(root: string, file: string, content: string, mine: string): void {
  const digest = createHash('sha256').update(`${basename(file)}\n${content}`).digest('hex').slice(0, 32);
  const claim = `${root}.claim-${digest}`;
  if (createWhole(claim, mine)) {
    try {
      if (readIfThere(file) === content) unlinkIfThere(file);
    } finally {
      unlinkIfThere(claim);
    }
    return;
  }
  const claimant = readIfThere(claim);
  if (claimant === undefined) return;
  if (liveHolder(claimant) === undefined) return removeStale(root, claim, claimant, mine);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, CLAIM_WAIT_MS);
}

/** The PID of the live process that wrote `content`, or undefined when it is gone (or is this one: a lock left by an earlier life of this PID). */
function liveHolder(content: string): number | undefined {
  const [pidText, started] = content.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  return isAlive(pid) && sameProcess(pid, started) ? pid : undefined;
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

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
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
