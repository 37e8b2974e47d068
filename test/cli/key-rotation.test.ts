import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { cli } from '../support/cli.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import { TEST_SEED } from '../support/ledger.js';
import { gql, startServer } from '../support/server.js';

// A rotation changes the seed in the environment; the embedded database keeps its own key file.
const pgOnly = usingPostgres() ? describe : describe.skip;

const NEW_SEED = '33'.repeat(32);
const OLD_VKEY = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
const NEW_VKEY = noteSignerFromSeed('test.chainproof', Buffer.from(NEW_SEED, 'hex')).verifierKey;
const NO_SEED = { CHAINPROOF_SIGNING_SEED: '' };

let env: Record<string, string>;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
});
afterAll(async () => cleanup?.());

const checkpoint = async (url: string) => {
  await gql(url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, { i: Array.from({ length: 6 }, (_, k) => ({ type: 'v', actor: `a${k}` })) });
  expect((await gql(url, `mutation { createCheckpoint { treeSize } }`)).errors).toBeUndefined();
};

pgOnly('rotating the signing key of a running deployment', () => {
  it('the server starts on the new seed with the old verifier key as previous, and verify checks the whole log with both keys', { timeout: 180_000 }, async () => {
    const before = await startServer(env);
    // A record the old key signs: replays must still count it as the server's.
    const source = await gql(before.url, `mutation { recordSource(input: {locator: "git://cfg@1", contentHash: "${'ab'.repeat(32)}", mediaType: "text/plain"}) { eventIndex } }`);
    expect(source.errors).toBeUndefined();
    await checkpoint(before.url);
    await before.kill('SIGTERM');

    const rotated = { ...env, CHAINPROOF_SIGNING_SEED: NEW_SEED, CHAINPROOF_PREVIOUS_VERIFIER_KEYS: OLD_VKEY };
    const after = await startServer(rotated);
    try {
      await checkpoint(after.url);
      const { data } = await gql(after.url, `{ ledger { verifierKey previousVerifierKeys } }`);
      expect(data.ledger).toEqual({ verifierKey: NEW_VKEY, previousVerifierKeys: [OLD_VKEY] });
      expect(after.logs.some((l) => l.includes(`"previousVerifierKeys":[${JSON.stringify(OLD_VKEY)}]`))).toBe(true);
    } finally {
      await after.kill('SIGTERM');
    }

    const both = cli(['verify', '--full', '--json', '--key', OLD_VKEY, '--key', NEW_VKEY], { ...env, ...NO_SEED });
    expect(both.code, both.stderr).toBe(0);
    expect(JSON.parse(both.stdout)).toMatchObject({ status: 'VALID', signaturesChecked: true });
    // The configured keys serve as well, and the rebuilds take the old key's records as the server's.
    const replayed = cli(['verify', '--full', '--replay', '--json'], rotated);
    expect(replayed.code, replayed.stdout).toBe(0);
    expect(JSON.parse(replayed.stdout).provenanceReplay).toMatchObject({ ok: true, eventsReplayed: 1 });
    const newOnly = cli(['verify', '--full', '--key', NEW_VKEY], { ...env, ...NO_SEED });
    expect(newOnly.code).toBe(1);
    expect(newOnly.stdout).toMatch(/CHECKPOINT_SIGNATURE \(checkpoint \d+\)[^\n]*no signature by the trusted key test\.chainproof\+/);
    // The old seed, on its own, no longer starts: the newest checkpoint is the new key's.
    const old = cli(['stats'], env);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/^chainproof: SIGNING_KEY_MISMATCH: [^\n]+CHAINPROOF_PREVIOUS_VERIFIER_KEYS[^\n]*\n$/);
  });
});
