import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { TEST_SEED } from '../support/ledger.js';
import { gqlOk, startServer, type ServerProcess } from '../support/server.js';

/**
 * A log restored from an older backup, with a real validator that cosigned the newer log: the log
 * must say so, because each event it appends from there forks the log its published checkpoints
 * describe. First the validator holds a larger tree than the log (`behind`), then, once the log
 * has grown past that size along its own branch, it refuses the log's checkpoint (`fork`).
 * (PostgreSQL only: the backup is `CREATE DATABASE … TEMPLATE`.)
 */
describe.runIf(usingPostgres())('a log that lost what a validator cosigned', () => {
  const drops: Array<() => Promise<void>> = [];
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')));
    for (const d of drops) await d();
  });

  const logKey = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
  const fresh = async () => {
    const db = await freshDatabaseUrl();
    drops.push(db.drop);
    return db.url;
  };
  const start = async (env: Record<string, string>) => {
    const s = await startServer(env);
    servers.push(s);
    return s;
  };
  const append = (url: string, n: number) =>
    gqlOk(url, `mutation($in: [AppendEventInput!]!) { appendEvents(inputs: $in) { id } }`, { in: Array.from({ length: n }, (_, i) => ({ type: 't', actor: `a${i}` })) });
  /** A checkpoint of the whole log, once the validator has cosigned it (or `cosigned: false`, not waited for). */
  const checkpoint = async (url: string, cosigned = true) => {
    const { createCheckpoint } = await gqlOk(url, `mutation { createCheckpoint { treeSize } }`);
    if (cosigned) {
      await vi.waitFor(async () => expect((await gqlOk(url, `{ checkpoint { cosignatures { witness } } }`)).checkpoint.cosignatures).toHaveLength(1), { timeout: 30_000, interval: 200 });
    }
    return createCheckpoint.treeSize as number;
  };
  const diverged = async (url: string) => {
    const text = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
    return text.split('\n').filter((l) => l.startsWith('chainproof_validator_diverged{'));
  };

  it('reports the validator ahead of it, then the fork, on /metrics and in its log', { timeout: 240_000 }, async () => {
    const witness = await start({ DATABASE_URL: await fresh(), CHAINPROOF_ORIGIN: 'w1.test', CHAINPROOF_SIGNING_SEED: '1'.repeat(64), CHAINPROOF_WITNESS_LOGS: logKey });
    const witnessKey = (await gqlOk(witness.url, `{ ledger { witnessKey } }`)).ledger.witnessKey as string;
    const logEnv = { CHAINPROOF_VALIDATORS: `${witness.url.replace(/\/graphql$/, '')}|${witnessKey}`, CHAINPROOF_CHECKPOINT_INTERVAL: '1000000' };

    const live = await fresh();
    let log = await start({ DATABASE_URL: live, ...logEnv });
    await append(log.url, 2);
    await checkpoint(log.url);
    await log.kill('SIGTERM');

    const backup = await fresh();
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE ${new URL(backup).pathname.slice(1)}`);
    await admin.query(`CREATE DATABASE ${new URL(backup).pathname.slice(1)} TEMPLATE ${new URL(live).pathname.slice(1)}`);
    await admin.end();

    log = await start({ DATABASE_URL: live, ...logEnv });
    await append(log.url, 20);
    const cosignedSize = await checkpoint(log.url);
    expect(await diverged(log.url)).toEqual([]);
    await log.kill('SIGTERM');

    // The restore: the same key and origin, on the older database.
    log = await start({ DATABASE_URL: backup, ...logEnv });
    await append(log.url, 1);
    expect(await checkpoint(log.url, false)).toBeLessThan(cosignedSize);
    await vi.waitFor(async () => expect(await diverged(log.url)).toEqual([expect.stringMatching(/kind="behind".* 1$/)]), { timeout: 30_000, interval: 200 });
    expect(log.logs.filter((l) => l.includes(`cosigned main at tree size ${cosignedSize}, beyond this log`))).toHaveLength(1);

    await append(log.url, 30);
    expect(await checkpoint(log.url, false)).toBeGreaterThan(cosignedSize);
    await vi.waitFor(async () => expect(await diverged(log.url)).toEqual([expect.stringMatching(/kind="fork".* 1$/)]), { timeout: 30_000, interval: 200 });
    expect(log.logs.some((l) => l.includes('as inconsistent with the tree it cosigned'))).toBe(true);
  });
});
