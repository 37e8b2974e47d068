import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR_LOCK = fileURLToPath(new URL('../../dist/src/db/dir-lock.js', import.meta.url));

/**
 * One process that waits until `at`, then tries the lock: prints `got` and holds it for `holdMs`,
 * or prints the error's code.
 */
function contender(lock: string, at: number, holdMs: number): Promise<string> {
  const program = `
    const { acquireDirLock } = await import(${JSON.stringify(DIR_LOCK)});
    while (Date.now() < ${at}) {}
    try {
      const release = acquireDirLock(${JSON.stringify(lock)});
      console.log('got');
      setTimeout(release, ${holdMs});
    } catch (e) {
      console.log(e.code ?? e.message);
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => resolve(out.trim()));
  });
}

describe.skipIf(!existsSync('/proc/self/stat'))('the lock of a data directory', () => {
  it('goes to exactly one of several processes that find the same stale lock at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-lock-race-'));
    try {
      const lock = join(dir, 'chainproof.lock');
      for (let round = 0; round < 5; round++) {
        // A live PID with another start time: written by a process that is gone (as after a reboot).
        writeFileSync(lock, `${process.pid} 1`);
        const at = Date.now() + 1_500;
        const outcomes = await Promise.all(Array.from({ length: 8 }, () => contender(lock, at, 2_500)));
        expect(outcomes.filter((o) => o === 'got'), `round ${round}: ${outcomes.join(', ')}`).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'UNAVAILABLE')).toHaveLength(7);
        // Released by its holder on its way out; no claim is left behind.
        expect(existsSync(lock)).toBe(false);
        expect(existsSync(`${lock}.claim`)).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is written with its holder, and refuses another process while that holder lives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-lock-held-'));
    try {
      const lock = join(dir, 'chainproof.lock');
      const at = Date.now() + 500;
      const [first, second] = await Promise.all([contender(lock, at, 2_000), contender(lock, at + 300, 0)]);
      expect([first, second]).toEqual(['got', 'UNAVAILABLE']);
      expect(existsSync(lock)).toBe(false);
      // A PID alone, as older versions wrote it: held while that PID lives.
      writeFileSync(lock, String(process.pid));
      expect(await contender(lock, Date.now(), 0)).toBe('UNAVAILABLE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
