import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl, tempDataDir, usingPostgres } from '../support/db.js';
import { gql, SMALL_LEDGER_ENV, startServer } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../bin/chainproof.js', import.meta.url));

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
  if (usingPostgres()) {
    const db = await freshDatabaseUrl();
    env = { DATABASE_URL: db.url };
    cleanup = db.drop;
  } else {
    const data = tempDataDir();
    dataDir = data.dir;
    env = { CHAINPROOF_DATA_DIR: data.dir };
    cleanup = async () => data.remove();
  }
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
    const badFlag = cli(['verify', '--fast'], env);
    expect(badFlag.code).toBe(2);
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

  it('keys create prints a key once; list never shows it; revoke by name', () => {
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
  });

  it('exits 1 and names the event when the ledger was tampered with', async () => {
    await tamper(`UPDATE events SET type = 'forged' WHERE idx = 7 AND ledger_id = (SELECT id FROM ledgers WHERE name = 'main')`);
    const r = cli(['verify', '--full'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^INVALID/);
    expect(r.stdout).toMatch(/EVENT_FIELD_MISMATCH \(event 7\)/);
  });
});
