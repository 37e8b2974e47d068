import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { cli } from '../support/cli.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import { TEST_SEED } from '../support/ledger.js';
import { gql, startServer } from '../support/server.js';

// Without a seed in the environment a PostgreSQL database has no server key; the embedded one keeps its key file.
const pgOnly = usingPostgres() ? describe : describe.skip;

let env: Record<string, string>;
let cleanup: () => Promise<void>;
const VKEY = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
const NO_SEED = { CHAINPROOF_SIGNING_SEED: '' };

beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
  if (!usingPostgres()) return;
  const server = await startServer(env);
  await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, { i: Array.from({ length: 12 }, (_, k) => ({ type: 'v', actor: `a${k}` })) });
  expect((await gql(server.url, `mutation { createCheckpoint { treeSize } }`)).errors).toBeUndefined();
  await server.kill('SIGTERM');
});
afterAll(async () => cleanup?.());

pgOnly('chainproof verify and the verifier key', () => {
  it('without any key it does not call a ledger VALID unchecked: exit 2, or with --no-signatures says so', () => {
    const r = cli(['verify'], { ...env, ...NO_SEED });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chainproof: VERIFIER_KEY_MISSING: [^\n]+--key[^\n]+\n$/);
    const unchecked = cli(['verify', '--no-signatures', '--json'], { ...env, ...NO_SEED });
    expect(unchecked.code).toBe(0);
    expect(JSON.parse(unchecked.stdout)).toMatchObject({ status: 'VALID', signaturesChecked: false });
    expect(cli(['verify', '--no-signatures'], { ...env, ...NO_SEED }).stdout).toMatch(/signatures NOT checked/);
    const bad = cli(['verify', '--key', 'not-a-key'], { ...env, ...NO_SEED });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^chainproof: BAD_USER_INPUT: [^\n]+\n$/);
  });

  it("with the published key (no seed needed) it checks signatures, and names a changed checkpoint's", async () => {
    const ok = cli(['verify', '--full', '--json', '--key', VKEY], { ...env, ...NO_SEED });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'VALID', signaturesChecked: true });

    // One character of the newest checkpoint's signature changed, as someone with database access could.
    const c = new pg.Client({ connectionString: env.DATABASE_URL });
    await c.connect();
    await c.query('SET session_replication_role = replica'); // the append-only triggers off, as an attacker would
    const [row] = (await c.query(`SELECT id, note FROM checkpoints ORDER BY id DESC LIMIT 1`)).rows;
    const at = row.note.length - 10; // inside the signature line's base64
    const changed = row.note.slice(0, at) + (row.note[at] === 'A' ? 'B' : 'A') + row.note.slice(at + 1);
    await c.query(`UPDATE checkpoints SET note = $1 WHERE id = $2`, [changed, row.id]);
    await c.end();
    for (const extra of [['--key', VKEY], []]) {
      // With the published key and no seed, and with the seed (whose start-up check would otherwise refuse the database).
      const r = cli(['verify', ...extra], extra.length ? { ...env, ...NO_SEED } : env);
      expect(r.code, extra.join(' ')).toBe(1);
      expect(r.stdout).toMatch(/^INVALID/);
      expect(r.stdout).toMatch(/CHECKPOINT_SIGNATURE \(checkpoint \d+\)/);
    }
    // Any other command refuses the database with what happened, not as a key mismatch.
    const stats = cli(['stats'], env);
    expect(stats.code).toBe(2);
    expect(stats.stderr).toMatch(/^chainproof: CHECKPOINT_TAMPERED: [^\n]+\n$/);
  });
});
