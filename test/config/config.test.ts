import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_DOCS, loadConfig } from '../../src/config.js';
import { cosignerFromSeed, noteSignerFromSeed } from '../../src/ledger/note/index.js';

describe('configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 4000, host: '127.0.0.1', maxPayloadBytes: 65536, maxBatch: 1000, publicReads: true });
    expect(c.dataDir.endsWith('/data')).toBe(true);
  });

  it('reports every bad value in one message', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'eighty', CHAINPROOF_SIGNING_SEED: 'abc', CHAINPROOF_MIN_DIFFICULTY: '20', CHAINPROOF_MAX_DIFFICULTY: '10', CHAINPROOF_PUBLIC_READS: 'maybe' });
    } catch (e) {
      expect((e as { code: string }).code).toBe('CONFIG_INVALID');
      message = (e as Error).message;
    }
    for (const part of ['PORT', 'CHAINPROOF_SIGNING_SEED', 'CHAINPROOF_MIN_DIFFICULTY exceeds', 'CHAINPROOF_PUBLIC_READS']) expect(message).toContain(part);
    expect(message).not.toContain('abc'); // a secret-shaped value is named, not echoed
  });

  it('refuses peer and validator URLs that could carry a secret (credentials, a query string, a fragment), and never echoes them', () => {
    const vkey = noteSignerFromSeed('peer.example', Buffer.alloc(32, 1)).verifierKey;
    const cosignerKey = cosignerFromSeed('validator.example', Buffer.alloc(32, 2)).verifierKey;
    const secretBearing = ['https://sync:hunter2@peer.example/graphql', 'http://hunter2@[peer/graphql', 'https://peer.example/graphql?token=hunter2', 'https://peer.example/graphql#hunter2'];
    for (const [variable, key] of [['CHAINPROOF_PEERS', vkey], ['CHAINPROOF_VALIDATORS', cosignerKey]] as const) {
      for (const url of secretBearing) {
        let error: { code?: string; message?: string } = {};
        try {
          loadConfig({ [variable]: `${url}|${key}` });
        } catch (e) {
          error = e as Error & { code: string };
        }
        expect(error.code, url).toBe('CONFIG_INVALID');
        expect(error.message).toContain(variable);
        expect(error.message).not.toContain('hunter2');
      }
    }
    expect(loadConfig({ CHAINPROOF_PEERS: `https://peer.example/graphql|${vkey}` }).sync.peers).toHaveLength(1);
    expect(loadConfig({ CHAINPROOF_VALIDATORS: `https://validator.example|${cosignerKey}` }).validators).toHaveLength(1);
  });

  it('refuses trusted logs whose names nest, as both would cover the inner one\'s origins', () => {
    const key = (name: string, seed: number) => noteSignerFromSeed(name, Buffer.alloc(32, seed)).verifierKey;
    const logs = (...keys: string[]) => () => loadConfig({ CHAINPROOF_WITNESS_LOGS: keys.join(',') });
    expect(logs(key('a.example', 1), key('a.example/b', 2))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('CHAINPROOF_WITNESS_LOGS: the keys named a.example and a.example/b would both cover origin a.example/b') }),
    );
    // Two keys of one log, and names that only share characters, are fine.
    expect(logs(key('a.example', 1), key('a.example', 2), key('a.examples', 3), key('b.example/a.example', 4))().witnessLogs).toHaveLength(4);
  });

  it('takes previous verifier keys as a comma-separated list, and refuses one that does not parse', () => {
    const key = (seed: number) => noteSignerFromSeed('a.example', Buffer.alloc(32, seed)).verifierKey;
    expect(loadConfig({ CHAINPROOF_PREVIOUS_VERIFIER_KEYS: ` ${key(1)}, ${key(2)} ` }).previousVerifierKeys).toEqual([key(1), key(2)]);
    expect(loadConfig({}).previousVerifierKeys).toEqual([]);
    expect(() => loadConfig({ CHAINPROOF_PREVIOUS_VERIFIER_KEYS: `${key(1)},a.example+00+nope` })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('CHAINPROOF_PREVIOUS_VERIFIER_KEYS: invalid verifier key') }),
    );
  });

  it('the README documents every variable the server reads', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [name] of ENV_DOCS) expect(readme, name).toContain(`| \`${name}\` |`);
  });
});
