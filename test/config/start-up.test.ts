import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import { gqlOk, SMALL_LEDGER_ENV, startServer } from '../support/server.js';

let env: Record<string, string>;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ env, cleanup } = await serverBackend()));
afterAll(async () => cleanup?.());

/** The built binary run to completion; a process that never exits is killed and shows as `code: null`. */
function run(args: string[], extra: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, PORT: '0', ...env, ...extra },
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  return { code: r.status, stderr: r.stderr };
}

describe('a start-up that fails after the database is open', () => {
  const missingKey = { CHAINPROOF_SIGNING_SEED: '', CHAINPROOF_SIGNING_KEY_FILE: join('/nonexistent', 'signing.key') };

  it.each([['serve'], ['stats']])('%s exits with one coded line instead of hanging', (command) => {
    const r = run([command], missingKey);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chainproof: CONFIG_INVALID: signing key file \/nonexistent\/signing\.key cannot be read: ENOENT[^\n]*\n$/);
  });
});

describe('a signing key that did not sign the newest checkpoint', () => {
  it('is refused at start, by the server and the CLI alike, in one coded line', async () => {
    const server = await startServer(env);
    await gqlOk(server.url, `mutation { appendEvent(input: {type: "x", actor: "a"}) { index } }`);
    await gqlOk(server.url, `mutation { createCheckpoint(name: "signed") { treeSize } }`);
    expect(await server.kill('SIGTERM')).toBe(0);
    const otherSeed = { CHAINPROOF_SIGNING_SEED: '11'.repeat(32) };
    for (const command of ['serve', 'stats']) {
      const r = run([command], otherSeed);
      expect(r.code, command).toBe(2);
      expect(r.stderr, command).toMatch(/^chainproof: SIGNING_KEY_MISMATCH: the newest checkpoint was signed by test\.chainproof\+[0-9a-f]{8}, not by this server's key [^\n]*\n$/);
    }
    // The key's name is the origin prefix: another one, given, is refused as the database's ledgers show it.
    const renamed = run(['serve'], { CHAINPROOF_ORIGIN: 'renamed.chainproof' });
    expect(renamed.code).toBe(2);
    expect(renamed.stderr).toMatch(/^chainproof: CONFIG_INVALID: CHAINPROOF_ORIGIN is "renamed\.chainproof" but this database's ledgers were made under "test\.chainproof" \(test\.chainproof\/main\)[^\n]*\n$/);
    // Not given, it is the stored one, whatever this host is called (a new container, a second host).
    expect(run(['stats'], { CHAINPROOF_ORIGIN: '' }).code).toBe(0);
    expect(run(['stats'], {}).code).toBe(0);
  });
});

describe.runIf(usingPostgres())('automatic audit without a signing key', () => {
  it('is refused at start rather than every audit dropped', () => {
    const r = run(['serve'], { CHAINPROOF_SIGNING_SEED: '', CHAINPROOF_AUDIT_AGENTS: 'deploy-agent' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chainproof: CONFIG_INVALID: CHAINPROOF_AUDIT_AGENTS needs a signing key[^\n]*\n$/);
  });
});

describe('a second signal while the server drains', () => {
  /** A server kept draining by a request whose body never finishes. */
  async function draining() {
    const server = await startServer(env);
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"query":');
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((r) => server.child.once('exit', r));
    return { server, socket, exited };
  }

  it('given later, exits at once, with 1, saying so', async () => {
    const { server, socket, exited } = await draining();
    server.child.kill('SIGTERM');
    for (let waited = 0; !server.logs.some((l) => l.includes('shutting down')) && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2_500));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(server.logs.some((l) => l.includes('second signal while draining: exiting now'))).toBe(true);
    socket.destroy();
  });

  it('given with the first, as Ctrl-C under npm start delivers it, is the same request: the drain completes', async () => {
    const { server, socket, exited } = await draining();
    server.child.kill('SIGINT');
    server.child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(server.logs.some((l) => l.includes('second signal'))).toBe(false);
    socket.destroy();
  }, 30_000);
});

describe.skipIf(usingPostgres())('an embedded data directory that cannot be used', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'chainproof-startup-'));
    writeFileSync(join(scratch, 'a-file'), '');
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each([['serve'], ['stats']])('%s names it in one CONFIG_INVALID line', (command) => {
    const dir = join(scratch, 'a-file', 'data');
    const r = run([command], { CHAINPROOF_DATA_DIR: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`chainproof: CONFIG_INVALID: data directory ${dir} cannot be used (CHAINPROOF_DATA_DIR): ENOTDIR: not a directory, mkdir '${dir}'\n`);
  });
});

describe.skipIf(usingPostgres())('the generated signing key of an embedded data directory', () => {
  it('is not replaced once checkpoints were signed with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-key-'));
    try {
      const generated = { CHAINPROOF_DATA_DIR: dir, CHAINPROOF_SIGNING_SEED: '' };
      const server = await startServer(generated);
      await gqlOk(server.url, `mutation { appendEvent(input: {type: "x", actor: "a"}) { index } }`);
      await gqlOk(server.url, `mutation { createCheckpoint(name: "signed") { treeSize } }`);
      expect(await server.kill('SIGTERM')).toBe(0);
      const keyFile = join(dir, 'signing.key');
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);

      rmSync(keyFile);
      for (const command of ['serve', 'stats']) {
        const r = run([command], generated);
        expect(r.code, command).toBe(2);
        expect(r.stderr, command).toMatch(new RegExp(`^chainproof: SIGNING_KEY_MISSING: signing key ${keyFile} is missing but the ledger holds checkpoints signed with it;[^\\n]*\\n$`));
        expect(existsSync(keyFile), command).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(usingPostgres() || !existsSync('/proc/self/stat'))('the lock of an embedded data directory', () => {
  /** Field 22 of /proc/<pid>/stat, counted from the command name's closing parenthesis. */
  const startTime = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  };

  it('is held by its live writer, and not by another process that came to have its PID', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-lock-'));
    const other = spawn('sleep', ['60']);
    try {
      const lock = join(dir, 'chainproof.lock');
      // The writer is alive: refused.
      writeFileSync(lock, `${other.pid} ${startTime(other.pid!)}`);
      const held = run(['stats'], { CHAINPROOF_DATA_DIR: dir });
      expect(held.code).toBe(3);
      expect(held.stderr).toBe(`chainproof: UNAVAILABLE: data directory is in use by process ${other.pid}; stop it first or point CHAINPROOF_DATA_DIR elsewhere\n`);
      // The same PID, but a process started at another time (as after a reboot): the lock is stale.
      writeFileSync(lock, `${other.pid} 1`);
      const stale = run(['stats'], { CHAINPROOF_DATA_DIR: dir });
      expect(stale.stderr).toBe('');
      expect(stale.code).toBe(0);
      expect(existsSync(lock)).toBe(false);
    } finally {
      other.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!usingPostgres())('a PostgreSQL that refuses the connection', () => {
  it.each([['serve'], ['stats']])('%s says so in one UNAVAILABLE line', (command) => {
    const url = new URL(process.env.DATABASE_URL!);
    url.username = 'chainproof_no_such_role';
    url.password = '';
    const r = run([command], { DATABASE_URL: url.toString() });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^chainproof: UNAVAILABLE: the database refused the connection: [^\n]*chainproof_no_such_role[^\n]*\n$/);
  });
});
