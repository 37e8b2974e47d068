import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ChainproofError } from '../errors.js';

/**
 * A file operation on a path the user named: its failure (missing, a directory, no permission...)
 * is their input, BAD_USER_INPUT, not an internal error.
 */
export function userPath<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === 'string' && typeof err.syscall === 'string') throw new ChainproofError('BAD_USER_INPUT', `${flag}: ${err.message}`, { cause: e });
    throw e;
  }
}

/**
 * A directory to write into: made if missing, its parent must exist. (Node's recursive mkdir
 * spins for ever on some /proc paths; one level is all a user's output path needs.)
 */
export function outputDir(dir: string): string {
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw e;
  }
  return dir;
}

/**
 * A regular file of at most `maxBytes`, as UTF-8 text. Anything else is refused as the user's
 * input rather than read: a device (/dev/zero) or a pipe never ends, and a file past the
 * limit is not what it was named as.
 */
export function readSmallFile(flag: string, path: string, maxBytes: number, what: string): string {
  const stat = userPath(flag, () => statSync(path));
  if (!stat.isFile()) throw new ChainproofError('BAD_USER_INPUT', `${flag}: ${path} is not a regular file`);
  const fd = userPath(flag, () => openSync(path, 'r'));
  try {
    // At most one byte past the limit is read: enough to know the file is too large.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n; (n = userPath(flag, () => readSync(fd, buffer, length, buffer.length - length, null))) > 0; ) {
      length += n;
      if (length > maxBytes) throw new ChainproofError('BAD_USER_INPUT', `${flag}: ${path} is larger than ${maxBytes} bytes, too large for ${what}`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** An `--output` file: written in full by `commit`, or left as it was by `discard`. */
export interface OutputFile {
  write(text: string): void;
  commit(): void;
  discard(): void;
}

function statOrNone(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Opens `--output <path>` before any work, so a bad path is refused before anything is fetched,
 * signed or stored. The text goes to a new file beside `path` that replaces it only on `commit`:
 * a command that fails midway (the server gone, an unknown ledger) leaves the user's file intact.
 * A device or pipe (/dev/stdout) has nothing to lose and cannot be replaced: it is written directly.
 */
export function openOutputFile(flag: string, path: string): OutputFile {
  const existing = userPath(flag, () => statOrNone(path));
  if (existing?.isDirectory()) throw new ChainproofError('BAD_USER_INPUT', `${flag}: ${path} is a directory`);
  if (existing && !existing.isFile()) {
    const fd = userPath(flag, () => openSync(path, 'w'));
    return { write: (text) => writeAll(fd, path, text), commit: () => closeSync(fd), discard: () => closeSync(fd) };
  }
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = userPath(flag, () => openSync(temp, 'wx'));
  // The file it replaces keeps its permissions: an export kept private stays private.
  if (existing) fchmodSync(fd, existing.mode & 0o7777);
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    write: (text) => writeAll(fd, path, text),
    commit: () => {
      close();
      userPath(flag, () => renameSync(temp, path));
    },
    discard: () => {
      close();
      try {
        unlinkSync(temp);
      } catch (e) {
        // Removed by someone else already: the failure that led here is what the user must see.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    },
  };
}

function writeAll(fd: number, path: string, text: string): void {
  const bytes = Buffer.from(text);
  try {
    // A write may take less than it is given (a pipe, a full disk about to fail).
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
  } catch (cause) {
    throw new ChainproofError('INTERNAL', `writing ${path}: ${(cause as Error).message}`, { cause });
  }
}
