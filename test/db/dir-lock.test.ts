import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR_LOCK = fileURLToPath(new URL('../../dist/src/db/dir-lock.js', import.meta.url));

/** What a contender does on its way to the lock: `stop` or `kill` itself just before it removes a matching path. */
interface Trap {
  action: 'SIGSTOP' | 'SIGKILL';
  /** A regular expression for the paths whose removal is trapped, once. */
  path: string;
}

interface Contender {
  /** `got` once it holds the lock, or the error's code. */
  outcome: Promise<string>;
  /** Printed when its trap sprang. */
  trapped: Promise<void>;
  pid: number;
  /** Makes a holder release the lock and exit. */
  release(): void;
  exited: Promise<void>;
}

/**
 * One process that waits until `at`, then tries the lock: prints `got` and holds it until its
 * standard input closes, or prints the error's code. A trap makes it stop or die where it removes
 * a file, as a process may at any instruction.
 */
function contender(lock: string, at: number, trap?: Trap): Contender {
  const program = `
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const trap = ${JSON.stringify(trap ?? null)};
    if (trap) {
      const hits = (p) => typeof p === 'string' && new RegExp(trap.path).test(p);
      let sprung = false;
      for (const name of ['rmSync', 'unlinkSync', 'rmdirSync', 'renameSync']) {
        const real = fs[name];
        fs[name] = (p, ...rest) => {
          if (!sprung && hits(p)) {
            sprung = true;
            fs.writeSync(1, 'trapped\\n');
            process.kill(process.pid, trap.action);
          }
          return real(p, ...rest);
        };
      }
      syncBuiltinESMExports();
    }
    const { acquireDirLock } = await import(${JSON.stringify(DIR_LOCK)});
    while (Date.now() < ${at}) {}
    try {
      const release = acquireDirLock(${JSON.stringify(lock)});
      fs.writeSync(1, 'got\\n');
      process.stdin.resume();
      process.stdin.on('end', () => { release(); process.exit(0); });
    } catch (e) {
      fs.writeSync(1, (e.code ?? e.message) + '\\n');
      process.exit(0);
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onLine: () => void = () => {};
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    onLine();
  });
  const line = (pred: (l: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const look = () => {
        const found = out.split('\n').find(pred);
        if (found !== undefined) resolve(found);
      };
      const prev = onLine;
      onLine = () => {
        prev();
        look();
      };
      // 'close', not 'exit': a child's output may still be unread when it has exited.
      child.on('close', () => {
        look();
        reject(new Error(`contender exited with ${JSON.stringify(out)}`));
      });
      look();
    });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const outcome = line((l) => l !== '' && l !== 'trapped');
  outcome.catch(() => {});
  const trapped = line((l) => l === 'trapped').then(() => {});
  trapped.catch(() => {});
  return { outcome, trapped, pid: child.pid!, release: () => child.stdin.end(), exited };
}

const exactly = (path: string) => `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

/** Tries at once: the outcome, released straight away. */
async function tryOnce(lock: string): Promise<string> {
  const c = contender(lock, Date.now());
  const o = await c.outcome;
  c.release();
  await c.exited;
  return o;
}

/** Files the lock leaves beside it: none once it is released. */
const leftovers = (lock: string) => readdirSync(dirname(lock)).filter((f) => f.startsWith(basename(lock)));

/** Makes every claim beside the lock look as old as a claimant that stopped a minute ago. */
function ageClaims(lock: string): void {
  const old = new Date(Date.now() - 60_000);
  for (const f of leftovers(lock)) if (f !== basename(lock)) utimesSync(join(dirname(lock), f), old, old);
}

/** Lock contents written by a process that is gone: a live PID with another start time, as after a reboot. */
const staleLock = (lock: string) => writeFileSync(lock, `${process.pid} 1`);

describe.skipIf(!existsSync('/proc/self/stat'))('the lock of a data directory', () => {
  it('goes to exactly one of several processes that find the same stale lock at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-lock-race-'));
    try {
      const lock = join(dir, 'chainproof.lock');
      for (let round = 0; round < 5; round++) {
        staleLock(lock);
        const at = Date.now() + 1_500;
        const racers = Array.from({ length: 8 }, () => contender(lock, at));
        const outcomes = await Promise.all(racers.map((r) => r.outcome));
        expect(outcomes.filter((o) => o === 'got'), `round ${round}: ${outcomes.join(', ')}`).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'UNAVAILABLE')).toHaveLength(7);
        racers.forEach((r) => r.release());
        await Promise.all(racers.map((r) => r.exited));
        expect(leftovers(lock)).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not taken from the process that is replacing a stale lock, however long that process stands still', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-lock-stopped-'));
    const stopped: number[] = [];
    try {
      const lock = join(dir, 'chainproof.lock');
      staleLock(lock);
      // Stops just before it removes the stale lock it judged and claimed.
      const first = contender(lock, Date.now(), { action: 'SIGSTOP', path: exactly(lock) });
      await first.trapped;
      stopped.push(first.pid);
      ageClaims(lock);
      const second = contender(lock, Date.now());
      // The second may hold off while the first is stopped; give it a moment to do otherwise.
      await Promise.race([second.outcome, new Promise((r) => setTimeout(r, 1_000))]);
      process.kill(first.pid, 'SIGCONT');
      const outcomes = [await first.outcome, await second.outcome];
      outcomes.push(await tryOnce(lock));
      expect(outcomes.filter((o) => o === 'got'), outcomes.join(', ')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'UNAVAILABLE'), outcomes.join(', ')).toHaveLength(2);
      first.release();
      second.release();
      await Promise.all([first.exited, second.exited]);
      expect(leftovers(lock)).toEqual([]);
    } finally {
      for (const pid of stopped) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('goes to exactly one of several processes after processes died while replacing the stale lock, and while replacing their claims', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-lock-killed-'));
    try {
      const lock = join(dir, 'chainproof.lock');
      staleLock(lock);
      // Dies holding its claim on the stale lock.
      const first = contender(lock, Date.now(), { action: 'SIGKILL', path: exactly(lock) });
      await first.trapped;
      await first.exited;
      // Dies while replacing the dead claimant's claim.
      const second = contender(lock, Date.now(), { action: 'SIGKILL', path: `${exactly(lock).slice(0, -1)}\\.claim(-[0-9a-f]+)?$` });
      await second.trapped;
      await second.exited;
      const at = Date.now() + 1_000;
      const racers = Array.from({ length: 6 }, () => contender(lock, at));
      const outcomes = await Promise.all(racers.map((r) => r.outcome));
      expect(outcomes.filter((o) => o === 'got'), outcomes.join(', ')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'UNAVAILABLE')).toHaveLength(5);
      racers.forEach((r) => r.release());
      await Promise.all(racers.map((r) => r.exited));
      // Only the dead processes' half-written temporary files may remain.
      expect(leftovers(lock).filter((f) => !f.endsWith('.tmp'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is written with its holder, and refuses another process while that holder lives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-lock-held-'));
    try {
      const lock = join(dir, 'chainproof.lock');
      const first = contender(lock, Date.now());
      expect(await first.outcome).toBe('got');
      expect(await tryOnce(lock)).toBe('UNAVAILABLE');
      first.release();
      await first.exited;
      expect(existsSync(lock)).toBe(false);
      // A PID alone, as older versions wrote it: held while that PID lives.
      writeFileSync(lock, String(process.pid));
      expect(await tryOnce(lock)).toBe('UNAVAILABLE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
