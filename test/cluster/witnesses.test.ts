import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed, openNote, parseCosignerKey, verifyCosignature } from '../../src/ledger/note/index.js';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { TEST_SEED } from '../support/ledger.js';
import { gql, startServer, TEST_ADMIN_KEY, type ServerProcess } from '../support/server.js';
import { cli } from '../support/cli.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A log and four validators, five real server processes with a database each: checkpoints
 * collect C2SP cosignatures and become FINAL with 2f+1 = 3 of 4, so with one validator down
 * they still do, and with two down they stay PENDING. (PostgreSQL only: five embedded
 * databases would not fit a test machine's patience.)
 */
describe.runIf(usingPostgres())('witness cosigning and finality', () => {
  const drops: Array<() => Promise<void>> = [];
  const witnesses: Array<{ server: ServerProcess; key: string }> = [];
  let log: ServerProcess;
  const dir = mkdtempSync(join(tmpdir(), 'chainproof-proofs-'));
  const logKey = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;

  let logDb = '';
  const serve = async (env: Record<string, string>) => {
    const db = await freshDatabaseUrl();
    drops.push(db.drop);
    if (env.CHAINPROOF_VALIDATORS) logDb = db.url;
    return startServer({ DATABASE_URL: db.url, ...env });
  };

  beforeAll(async () => {
    for (let i = 1; i <= 4; i++) {
      const server = await serve({ CHAINPROOF_ORIGIN: `w${i}.test`, CHAINPROOF_SIGNING_SEED: String(i).repeat(64), CHAINPROOF_WITNESS_LOGS: logKey });
      const key = (await gql(server.url, `{ ledger { witnessKey } }`)).data.ledger.witnessKey as string;
      witnesses.push({ server, key });
    }
    const validators = witnesses.map((w) => `${w.server.url.replace(/\/graphql$/, '')}|${w.key}`).join(',');
    log = await serve({ CHAINPROOF_VALIDATORS: validators, CHAINPROOF_CHECKPOINT_INTERVAL: '1000000' });
  });
  afterAll(async () => {
    await Promise.all([log, ...witnesses.map((w) => w.server)].map((s) => s?.kill('SIGTERM')));
    for (const d of drops) await d();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `chainproof proof` from the log server, then `verify-proof` with nothing but keys. */
  function checkOffline(eventId: string, witnessKeys: string[], extra: string[] = []) {
    const file = join(dir, `${eventId}.proof`);
    const made = cli(['proof', eventId, '--url', log.url, '--key', TEST_ADMIN_KEY, '--output', file], {});
    expect(made.code, made.stderr).toBe(0);
    return cli(['verify-proof', file, '--key', logKey, ...witnessKeys.flatMap((k) => ['--witness', k]), ...extra], {});
  }

  /** Appends, checkpoints, and waits until `want` validators cosigned it (or the time is up). */
  async function checkpointWith(want: number, waitMs: number) {
    const eventId = (await gql(log.url, `mutation { appendEvents(inputs: [{type: "t", actor: "a"}, {type: "t", actor: "b"}]) { id } }`)).data.appendEvents[0].id;
    const id = (await gql(log.url, `mutation { createCheckpoint { id } }`)).data.createCheckpoint.id;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const r = await gql(log.url, `{ checkpoint { id treeSize finality note cosignatures { witness } } }`);
      expect(r.errors).toBeUndefined();
      const c = r.data.checkpoint;
      expect(c.id).toBe(id);
      if (c.cosignatures.length >= want || Date.now() > deadline) return { ...c, eventId };
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  // Each of these spawns the CLI several times beside five servers: generous time limits.
  it('is FINAL with all four, and with three of four while one is down', { timeout: 180_000 }, async () => {
    const all = await checkpointWith(4, 20_000);
    expect(all.cosignatures).toHaveLength(4);
    expect(all.finality).toBe('FINAL');
    // The note served carries the cosignature lines, each verifying with its validator's key.
    const { text } = openNote(all.note);
    const lines = all.note.split('\n').filter((l: string) => l.startsWith('— w'));
    expect(lines).toHaveLength(4);
    for (const w of witnesses) expect(lines.some((l: string) => verifyCosignature(text, l, parseCosignerKey(w.key)))).toBe(true);

    // Offline, with a witness policy: the tlog-proof carries the cosignatures.
    expect(checkOffline(all.eventId, [])).toMatchObject({ code: 0 });
    expect(checkOffline(all.eventId, witnesses.map((w) => w.key)).stdout).toContain('cosigned by 4 of 4 witnesses');

    await witnesses[3]!.server.kill('SIGKILL');
    const three = await checkpointWith(3, 20_000);
    expect(three.cosignatures).toHaveLength(3);
    expect(three.finality).toBe('FINAL');
  });

  it('stays PENDING with two of four', { timeout: 180_000 }, async () => {
    await witnesses[2]!.server.kill('SIGKILL');
    const two = await checkpointWith(3, 6_000); // several sweeps: a third never comes
    expect(two.cosignatures).toHaveLength(2);
    expect(two.finality).toBe('PENDING');
    const keys = witnesses.map((w) => w.key);
    const refused = checkOffline(two.eventId, keys);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('carries 2 valid cosignatures of the 4 witnesses; the policy needs 3');
    expect(checkOffline(two.eventId, keys, ['--threshold', '2']).code).toBe(0);
    // The same policy on the log's own database.
    const policy = keys.flatMap((k) => ['--witness', k]);
    const onDb = cli(['verify', ...policy], { DATABASE_URL: logDb });
    expect(onDb.code).toBe(1);
    expect(onDb.stdout).toContain('NOT WITNESSED: the checkpoint at tree size');
    expect(cli(['verify', ...policy, '--threshold', '2'], { DATABASE_URL: logDb }).code).toBe(0);
  });
});
