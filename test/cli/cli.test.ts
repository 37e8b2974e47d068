import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackend, tempDataDir, usingPostgres } from '../support/db.js';
import { gql, startServer, TEST_ADMIN_KEY } from '../support/server.js';
import { TEST_SEED } from '../support/ledger.js';
import { spawn } from 'node:child_process';
import { BIN, cli } from '../support/cli.js';
import { SMALL_LEDGER_ENV } from '../support/server.js';
import { cosignerFromSeed, noteSignerFromSeed, openNote } from '../../src/ledger/note/index.js';


let env: Record<string, string>;
let dataDir: string | undefined;
let cleanup: () => Promise<void>;

/** Runs SQL against the test database with the append-only triggers off, as an attacker would. */
async function tamper(sql: string): Promise<void> {
  const statements = ['SET session_replication_role = replica', sql];
  if (usingPostgres()) {
    const c = new pg.Client({ connectionString: env.DATABASE_URL });
    await c.connect();
    for (const s of statements) await c.query(s);
    await c.end();
  } else {
    const db = await PGlite.create(join(dataDir!, 'pg'));
    for (const s of statements) await db.query(s);
    await db.close();
  }
}

beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
  dataDir = env.CHAINPROOF_DATA_DIR;
  const server = await startServer(env);
  const r = await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
    i: Array.from({ length: 40 }, (_, k) => ({ type: 'cli', actor: `a${k}`, payload: { k } })),
  });
  expect(r.errors).toBeUndefined();
  await server.kill('SIGTERM');
});
afterAll(async () => cleanup?.());

describe('chainproof CLI', () => {
  it('checkpoint seals, signs and prints the note', () => {
    const r = cli(['checkpoint', '--name', 'nightly', '--tags', 'a,b'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^test\.chainproof\/main\n40\n[A-Za-z0-9+/=]{44}\n/);
    expect(r.stdout).toMatch(/\n\n— test\.chainproof [A-Za-z0-9+/=]+\n$/);
  });

  it('verify exits 0 on a valid ledger, quick and full, and prints JSON on request', () => {
    const quick = cli(['verify'], env);
    expect(quick.code).toBe(0);
    expect(quick.stdout).toMatch(/^VALID: ledger main, quick check/);
    const full = cli(['verify', '--full', '--json'], env);
    expect(full.code).toBe(0);
    const report = JSON.parse(full.stdout);
    expect(report).toMatchObject({ status: 'VALID', mode: 'FULL', eventsVerified: 40, issues: [] });
  });

  it('bad input: one line, a code, a non-zero exit', () => {
    const unknown = cli(['verify', '--ledger', 'nope'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^chainproof: UNKNOWN_LEDGER: no ledger named "nope"\n$/);
    const badSeed = cli(['verify'], { ...env, CHAINPROOF_SIGNING_SEED: 'xyz', CHAINPROOF_BLOCK_SIZE: 'many' });
    expect(badSeed.code).toBe(2);
    expect(badSeed.stderr.trim().split('\n')).toHaveLength(1);
    expect(badSeed.stderr).toMatch(/CONFIG_INVALID: .*CHAINPROOF_SIGNING_SEED.*CHAINPROOF_BLOCK_SIZE/);
    const usage: Array<[string[], string]> = [
      [['verify', '--fast'], "unknown option '--fast'"],
      [['--bogus'], "unknown option '--bogus'"],
      [['verfy'], "unknown command 'verfy' (Did you mean verify?)"],
      // Commander repeats what was typed: a pasted escape sequence is shown, not run.
      [['ver\u001b[2Jfy'], "unknown command 'ver\\u001b[2Jfy'"],
      [['proof'], "missing required argument 'eventId'"],
      [['trace'], "required option '--agent <agent>' not specified"],
      [[], 'a command is needed: add --help to list them'],
      [['gov'], 'a command is needed: add --help to list them'],
      [['gov', 'propose', '--title', 't', '--period', ''], '--period must be a number'],
      [['gov', 'propose', '--title', 't', '--period', '60', '--quorum', ' '], '--quorum must be a number'],
      [['gov', 'propose', '--title', 't', '--period', '60', '--mint', 'oncall'], '--mint takes account=amount, not "oncall"'],
      // An account never holds "=": a second one is a typo, not an amount of 5.
      [['gov', 'propose', '--title', 't', '--period', '60', '--mint', 'oncall=5=6'], '--mint takes account=amount, not "oncall=5=6"'],
      [['gov', 'propose', '--title', 't', '--period', '60', '--set', 'main.blockSize=ten'], '--set takes ledger.parameter=value, e.g. main.blockSize=500, not "main.blockSize=ten"'],
      [['trace', '--agent', 'a', '--until', '2020-01-01T00:00Z'], '--since must not be after --until (--since "6 hours ago", --until "2020-01-01T00:00Z")'],
    ];
    for (const [args, message] of usage) {
      const r = cli(args, env);
      expect(r.stderr, args.join(' ')).toBe(`chainproof: BAD_USER_INPUT: ${message}\n`);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
    }
    const help = cli(['--help'], env);
    expect(help.stdout).toMatch(/^Usage: chainproof /);
    expect(help.code).toBe(0);
  });

  // A dozen CLI processes, each opening the database: slow on a busy machine.
  it('bad paths, keys, accounts, states and URLs: one line, BAD_USER_INPUT, exit 2, nothing written', { timeout: 180_000 }, () => {
    const dir = tempDataDir();
    try {
      const missing = join(dir.dir, 'missing', 'child');
      const cases: string[][] = [
        ['export', '--output', missing],
        ['export', '--output', dir.dir],
        ['trace', '--agent', 'a', '--proofs', missing],
        ['proof', '0'.repeat(64), '--output', missing],
        ['verify-proof', join(dir.dir, 'nope.tlog-proof'), '--key', 'x'],
        ['verify', '--witness', 'garbage'],
        ['gov', 'propose', '--title', 't', '--period', '60', '--as', ' bad account'],
        ['gov', 'show', '--state', 'sleeping'],
        ['mcp', '--url', 'notaurl'],
        ['trace', '--agent', 'a', '--since', '1e400 hours ago'],
        // Node's recursive mkdir never returns on this one.
        ...(process.platform === 'linux' ? [['trace', '--agent', 'a', '--proofs', '/proc/chainproof-nope']] : []),
      ];
      for (const args of cases) {
        const r = cli(args, env);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr, args.join(' ')).toMatch(/^chainproof: [A-Z_]+: [^\n]+\n$/);
        expect(r.stderr).not.toMatch(/INTERNAL/);
      }
      const proposals = JSON.parse(cli(['gov', 'show', '--json'], env).stdout);
      expect(proposals).toEqual([]);
    } finally {
      dir.remove();
    }
  });

  it('serve on a port in use: one line, UNAVAILABLE, exit 3', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as AddressInfo).port;
      const r = cli(['serve'], { ...env, PORT: String(port), CHAINPROOF_HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`^chainproof: UNAVAILABLE: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)\\n$`));
    } finally {
      blocker.close();
    }
  });

  it('a database that cannot be reached: one line, UNAVAILABLE, exit 3', () => {
    const r = cli(['stats'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres' });
    expect(r.stderr).toMatch(/^chainproof: UNAVAILABLE: cannot reach the database \([^\n]*ECONNREFUSED[^\n]*\)\n$/);
    expect(r.code).toBe(3);
  });

  it.runIf(usingPostgres())('refuses to checkpoint against PostgreSQL without a signing key', () => {
    const r = cli(['checkpoint'], { ...env, CHAINPROOF_SIGNING_SEED: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chainproof: SIGNING_KEY_MISSING: /);
  });

  it.runIf(!usingPostgres())('on the embedded database, creates a signing key once, mode 0600', () => {
    const data = tempDataDir();
    try {
      const first = cli(['checkpoint', '--json'], { CHAINPROOF_DATA_DIR: data.dir, CHAINPROOF_SIGNING_SEED: '' });
      // An empty ledger has nothing to checkpoint, but the key is made on first open.
      expect(first.stderr).toMatch(/NOTHING_TO_CHECKPOINT/);
      const mode = statSync(join(data.dir, 'signing.key')).mode & 0o777;
      expect(mode).toBe(0o600);
    } finally {
      data.remove();
    }
  });

  // Several CLI processes, each opening the embedded database: slow on a busy machine.
  it('keys create prints a key once; list never shows it; revoke by name', { timeout: 180_000 }, () => {
    const created = cli(['keys', 'create', '--role', 'writer', '--name', 'ci-writer'], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^cpk_[A-Za-z0-9_-]{43}$/);
    const list = cli(['keys', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(key);
    expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'ci-writer', role: 'writer', revokedAt: null })]));
    expect(cli(['keys', 'list'], env).stdout).toMatch(/^id\s+name\s+role/);
    const revoked = cli(['keys', 'revoke', 'ci-writer'], env);
    expect(revoked.code).toBe(0);
    const again = cli(['keys', 'revoke', 'ci-writer'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^chainproof: NOT_FOUND: /);
    const badRole = cli(['keys', 'create', '--role', 'root'], env);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/^chainproof: BAD_USER_INPUT: role must be/);
    const bound = cli(['keys', 'create', '--role', 'writer', '--name', 'ci-agent', '--agent', 'deployment-agent', '--agent', 'canary', '--json'], env);
    expect(bound.code).toBe(0);
    expect(JSON.parse(bound.stdout)).toMatchObject({ name: 'ci-agent', agents: ['deployment-agent', 'canary'] });
    expect(cli(['keys', 'list'], env).stdout).toMatch(/ci-agent\s+writer\s+deployment-agent,canary\s/);
    const boundReader = cli(['keys', 'create', '--role', 'reader', '--agent', 'deployment-agent'], env);
    expect(boundReader.code).toBe(2);
    expect(boundReader.stderr).toMatch(/^chainproof: BAD_USER_INPUT: agents bind a credential that records query audits; a reader records none/);
  });

  it('query filters and limits, as a table or JSON', () => {
    const r = cli(['query', '--type', 'cli', '--limit', '5', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((e: { index: number }) => e.index)).toEqual([0, 1, 2, 3, 4]);
    const t = cli(['query', '--actor', 'a7'], env);
    expect(t.stdout).toMatch(/^index\s+time\s+type/);
    expect(t.stdout.trim().split('\n')).toHaveLength(2);
    const bad = cli(['query', '--start', 'yesterday'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^chainproof: BAD_USER_INPUT: --start must be an ISO time/);
  });

  it('export streams every event as JSON Lines or a JSON array', () => {
    const dir = tempDataDir();
    try {
      const jsonl = join(dir.dir, 'out.jsonl');
      expect(cli(['export', '--type', 'cli', '--output', jsonl], env).code).toBe(0);
      const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((e) => e.index)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(lines[3]).toMatchObject({ type: 'cli', actor: 'a3', payload: { k: 3 } });
      const arr = JSON.parse(cli(['export', '--format', 'json', '--type', 'cli'], env).stdout);
      expect(arr).toHaveLength(40);
      expect(cli(['export', '--format', 'xml'], env).code).toBe(2);
    } finally {
      dir.remove();
    }
  });

  it('export refuses bad input before writing: the --output file is kept, stdout stays empty', () => {
    const dir = tempDataDir();
    try {
      const keep = join(dir.dir, 'keep.jsonl');
      writeFileSync(keep, 'precious\n');
      chmodSync(keep, 0o600);
      for (const args of [['--start', 'bogus'], ['--ledger', 'nosuch'], ['--timeout', '0'], ['--format', 'json', '--ledger', 'nosuch'], ['--url', 'http://127.0.0.1:1/graphql']]) {
        const r = cli(['export', '--output', keep, ...args], env);
        expect(r.stderr, args.join(' ')).toMatch(/^chainproof: [A-Z_]+: [^\n]+\n$/);
        expect(r.code, args.join(' ')).toBeGreaterThan(1);
        expect(readFileSync(keep, 'utf8'), args.join(' ')).toBe('precious\n');
      }
      const toStdout = cli(['export', '--format', 'json', '--ledger', 'nosuch'], env);
      expect(toStdout.stdout).toBe('');
      expect(toStdout.code).toBe(2);
      // Once it succeeds, the file is replaced whole, private as it was.
      expect(cli(['export', '--type', 'cli', '--output', keep], env).code).toBe(0);
      expect(readFileSync(keep, 'utf8').trim().split('\n')).toHaveLength(40);
      expect(statSync(keep).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir.dir)).toEqual(['keep.jsonl']);
    } finally {
      dir.remove();
    }
  });

  it('stats draws bars by type', () => {
    const r = cli(['stats'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^40 events/);
    expect(r.stdout).toMatch(/cli\s+█+ 40/);
  });

  it('proof writes a C2SP tlog-proof that verify-proof checks offline with the verifier key', () => {
    const dir = tempDataDir();
    try {
      const events = JSON.parse(cli(['query', '--type', 'cli', '--limit', '20', '--json'], env).stdout);
      const file = join(dir.dir, 'e.tlog-proof');
      const made = cli(['proof', events[17].id, '--output', file], env);
      expect(made.stderr).toBe('');
      expect(readFileSync(file, 'utf8')).toMatch(/^c2sp\.org\/tlog-proof@v1\nextra [A-Za-z0-9+/=]+\nindex 17\n/);
      const vkey = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
      const ok = cli(['verify-proof', file, '--key', vkey, '--origin', 'test.chainproof/main'], {});
      expect(ok.stdout).toMatch(/^VALID: event [0-9a-f]{64} is entry 17 of test\.chainproof\/main/);
      expect(ok.code).toBe(0);
      // A different event's bytes, or another key: INVALID, exit 1.
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace(/^extra .*$/m, `extra ${events[3].canonical}`));
      expect(cli(['verify-proof', file, '--key', vkey], {}).code).toBe(1);
      writeFileSync(file, text);
      const other = noteSignerFromSeed('test.chainproof', Buffer.alloc(32, 7)).verifierKey;
      const wrongKey = cli(['verify-proof', file, '--key', other], {});
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stdout).toMatch(/^INVALID: (UNVERIFIED_NOTE|BAD_SIGNATURE)/);
    } finally {
      dir.remove();
    }
  });

  it.runIf(usingPostgres())('proof on the database carries the validators\' cosignatures, as a server serves them', async () => {
    const dir = tempDataDir();
    const c = new pg.Client({ connectionString: env.DATABASE_URL });
    await c.connect();
    try {
      const witness = cosignerFromSeed('witness.test', Buffer.alloc(32, 5));
      const withWitness = { ...env, CHAINPROOF_VALIDATORS: `http://127.0.0.1:9|${witness.verifierKey}` };
      const events = JSON.parse(cli(['query', '--type', 'cli', '--limit', '20', '--json'], env).stdout);
      const first = join(dir.dir, 'first.tlog-proof');
      expect(cli(['proof', events[5].id, '--output', first], withWitness).code).toBe(0);
      // The checkpoint the proof used gets the witness's cosignature, as the collector would store it.
      const [cp] = (await c.query(`SELECT id, note FROM checkpoints ORDER BY tree_size DESC, id DESC LIMIT 1`)).rows;
      await c.query(`INSERT INTO checkpoint_cosignatures (checkpoint_id, witness, line) VALUES ($1, $2, $3)`, [cp.id, witness.verifierKey, witness.cosign(openNote(cp.note).text, 1_700_000_000)]);
      const file = join(dir.dir, 'e.tlog-proof');
      expect(cli(['proof', events[5].id, '--output', file], withWitness).code).toBe(0);
      const vkey = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
      const ok = cli(['verify-proof', file, '--key', vkey, '--witness', witness.verifierKey, '--threshold', '1'], {});
      expect(ok.stdout).toMatch(/^VALID: .*cosigned by 1 of 1 witnesses/);
      expect(ok.code).toBe(0);
    } finally {
      await c.end();
      dir.remove();
    }
  });

  it.runIf(usingPostgres())('sync status shows a peer\'s error text escaped, never as terminal control codes', async () => {
    const c = new pg.Client({ connectionString: env.DATABASE_URL });
    await c.connect();
    try {
      const vkey = noteSignerFromSeed('peer.test', Buffer.alloc(32, 4)).verifierKey;
      await c.query(`INSERT INTO sync_peers (url, verifier_key, origin, source, status, last_error, error_count) VALUES ($1, $2, 'peer.test', 'admin', 'ERROR', $3, 1)`,
        ['http://127.0.0.1:9/graphql', vkey, 'PEER_UNAVAILABLE: peer refused: \u001b[2J\u001b[31mall is well']);
      const r = cli(['sync', 'status'], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('peer.test: PEER_UNAVAILABLE: peer refused: \\u001b[2J');
      expect(r.stdout).not.toContain('\u001b');
    } finally {
      await c.query(`DELETE FROM sync_peers WHERE url = 'http://127.0.0.1:9/graphql'`);
      await c.end();
    }
  });

  it('times are read as trace reads them, numbers as digits; a threshold needs its witnesses', () => {
    for (const args of [['query', '--start', '12'], ['query', '--start', '2026-02-30T00:00:00Z'], ['query', '--end', '2026-12-03T11:00'], ['query', '--limit', '0x10'], ['query', '--limit', '1e2'], ['verify', '--threshold', '1']]) {
      const r = cli(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^chainproof: BAD_USER_INPUT: /);
    }
    expect(cli(['query', '--start', '2026-12-03T11:00Z', '--limit', '16'], env).code).toBe(0);
  });

  it('a reader that goes away ends the output quietly: exit 0, no stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'export', '--format', 'json'], { env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('works against a running server with --url and --key', async () => {
    const server = await startServer(env);
    try {
      const r = cli(['query', '--type', 'cli', '--limit', '3', '--json', '--url', server.url], env);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout).map((e: { index: number }) => e.index)).toEqual([0, 1, 2]);
      const stats = cli(['stats', '--json', '--url', server.url, '--key', TEST_ADMIN_KEY], env);
      expect(JSON.parse(stats.stdout).treeSize).toBe(40);
      const id = JSON.parse(r.stdout)[1].id;
      const proof = cli(['proof', id, '--url', server.url], env);
      expect(proof.code).toBe(0);
      expect(proof.stdout).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
      // An event no checkpoint covers yet: a writer's key makes one, as direct mode does; without a key, a coded refusal.
      const late = await gql(server.url, `mutation { appendEvent(input: {type: "cli-late", actor: "z"}) { id index } }`);
      const refused = cli(['proof', late.data.appendEvent.id, '--url', server.url], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^chainproof: NOTHING_TO_CHECKPOINT: .*UNAUTHENTICATED/);
      const made = cli(['proof', late.data.appendEvent.id, '--url', server.url, '--key', TEST_ADMIN_KEY], env);
      expect(made.stderr).toBe('');
      expect(made.stdout).toMatch(new RegExp(`^c2sp\\.org/tlog-proof@v1\\nextra [A-Za-z0-9+/=]+\\nindex ${late.data.appendEvent.index}\\n`));
      const vkey = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
      const dir = tempDataDir();
      try {
        writeFileSync(join(dir.dir, 'late.tlog-proof'), made.stdout);
        expect(cli(['verify-proof', join(dir.dir, 'late.tlog-proof'), '--key', vkey], {}).code).toBe(0);
      } finally {
        dir.remove();
      }
      const unreachable = cli(['query', '--url', 'http://127.0.0.1:1/graphql'], env);
      expect(unreachable.code).toBe(3);
    } finally {
      await server.kill('SIGTERM');
    }
  });

  it('a server that stops answering: UNAVAILABLE after --timeout, exit 3; a bad --timeout is refused', async () => {
    // Headers, then half a body, then nothing: the deadline covers the answer read in full.
    const stalling = createServer((socket) => {
      socket.on('error', () => {});
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"data":');
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}/graphql`;
      const child = spawn(process.execPath, [BIN, 'stats', '--url', url, '--timeout', '1'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(stderr).toBe(`chainproof: UNAVAILABLE: ${url} did not answer within 1 s (--timeout)\n`);
      expect(code).toBe(3);
      for (const t of ['0', '1.5', '3601', '1e3', '']) {
        const r = cli(['stats', '--url', url, '--timeout', t], env);
        expect(r.code, t).toBe(2);
        expect(r.stderr, t).toMatch(/^chainproof: BAD_USER_INPUT: --timeout must be whole seconds from 1 to 3600/);
      }
    } finally {
      stalling.close();
    }
  });

  it('exits 1 and names the event when the ledger was tampered with', async () => {
    await tamper(`UPDATE events SET type = 'forged' WHERE idx = 7 AND ledger_id = (SELECT id FROM ledgers WHERE name = 'main')`);
    const r = cli(['verify', '--full'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^INVALID/);
    expect(r.stdout).toMatch(/EVENT_FIELD_MISMATCH \(event 7\)/);
    // As `chainproof verify --full | head -1` would: the reader gone, the verdict is still the exit code.
    const child = spawn(process.execPath, [BIN, 'verify', '--full'], { env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    expect(await new Promise<number | null>((resolve) => child.once('close', resolve))).toBe(1);
    expect(stderr).toBe('');
  });
});
