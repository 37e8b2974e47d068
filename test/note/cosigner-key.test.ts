import { describe, expect, it } from 'vitest';
import { tallyCosignatures } from '../../src/cli/verify-proof.js';
import { loadConfig } from '../../src/config.js';
import { cosignerFromSeed, formatCheckpoint, noteSignerFromSeed, parseCosignerKey, signNote } from '../../src/ledger/note/index.js';

const seed = Buffer.alloc(32, 7);
const alice = cosignerFromSeed('alice.example', seed);
// The same key under another name: another key hash, another vkey, the same witness.
const alias = cosignerFromSeed('alias.example', seed);
const bob = cosignerFromSeed('bob.example', Buffer.alloc(32, 8));

describe('witness keys', () => {
  it('a key hash is exactly 8 hex digits: trailing text after it is refused, not ignored', () => {
    const [name, hash, key] = alice.verifierKey.split('+') as [string, string, string];
    expect(parseCosignerKey(alice.verifierKey).name).toBe('alice.example');
    for (const bad of [`${name}+${hash}zz+${key}`, `${name}+${hash}00+${key}`, `${name}+${hash.slice(0, 6)}+${key}`]) {
      expect(() => parseCosignerKey(bad), bad).toThrow(/8 hex digits/);
    }
  });

  it('one witness is counted once, however many names its key is listed under', () => {
    const body = formatCheckpoint({ origin: 'log.example/main', treeSize: 5, rootHash: Buffer.alloc(32, 1) });
    const signed = signNote(body, [noteSignerFromSeed('log.example', Buffer.alloc(32, 3))]);
    const line = alice.cosign(body, 1_700_000_000);
    // The cosigned message does not name the key: the line relabels as the alias's, and verifies.
    const relabelled = alias.cosign(body, 1_700_000_000);
    const note = `${signed}${line}${relabelled}`;
    expect(tallyCosignatures(note, body, { keys: [alice.verifierKey, alias.verifierKey] }).have).toBe(1);
    expect(tallyCosignatures(`${note}${bob.cosign(body, 1_700_000_000)}`, body, { keys: [alice.verifierKey, alias.verifierKey, bob.verifierKey] }).have).toBe(2);
  });

  it('the server refuses validators that share a key', () => {
    const env = (keys: string[]) => ({ CHAINPROOF_VALIDATORS: keys.map((k, i) => `http://v${i}.example|${k}`).join(',') });
    expect(() => loadConfig(env([alice.verifierKey, bob.verifierKey]))).not.toThrow();
    expect(() => loadConfig(env([alice.verifierKey, alias.verifierKey, bob.verifierKey]))).toThrow(/has the key of another validator/);
  });
});
