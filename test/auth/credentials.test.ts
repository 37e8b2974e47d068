import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, SYSTEM_LEDGER } from '../../src/auth/api-keys.js';
import { presentedKey, principalFrom, principalOfRequest, type SignedRequest } from '../../src/auth/credentials.js';
import { KnownDidService, requestSigningBytes } from '../../src/auth/known-dids.js';
import { ANONYMOUS } from '../../src/auth/roles.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { codeOf } from '../support/codes.js';

let t: TestLedger;
let keys: ApiKeyService;
let dids: KnownDidService;
let writerKey: string;
beforeAll(async () => {
  t = await openTestLedger();
  await t.service.createLedger(SYSTEM_LEDGER, {});
  keys = new ApiKeyService(t.db.dataSource, t.service);
  dids = new KnownDidService(t.db.dataSource, t.service);
  writerKey = (await keys.create('credentials-writer', 'writer', 'test')).key;
});
afterAll(async () => t?.close());

describe('a presented credential', () => {
  it('is the key after Bearer, in any case and spacing, or the bare key', () => {
    expect(presentedKey('Bearer cpk_x')).toBe('cpk_x');
    expect(presentedKey('bearer  cpk_x ')).toBe('cpk_x');
    expect(presentedKey('BEARER\tcpk_x')).toBe('cpk_x');
    expect(presentedKey(' cpk_x ')).toBe('cpk_x');
    expect(presentedKey('Basic dXNlcjpwYXNz')).toBe('Basic dXNlcjpwYXNz');
    // No space after Bearer: a bare key that merely starts like the scheme, kept whole.
    expect(presentedKey('Bearercpk_x')).toBe('Bearercpk_x');
    expect(presentedKey('bearer-operator-chosen-0123456789')).toBe('bearer-operator-chosen-0123456789');
  });

  it('stands for its key\'s principal, written any of those ways', async () => {
    for (const header of [`Bearer ${writerKey}`, `bearer   ${writerKey}`, writerKey, ` ${writerKey}\t`]) {
      expect(await principalFrom(header, keys), header).toMatchObject({ kind: 'api-key', account: 'credentials-writer', role: 'writer' });
    }
  });

  it('asked with a maximum age of 0 is looked up again, so a revocation by another replica counts at once', async () => {
    const { key } = await keys.create('credentials-replicated', 'reader', 'test');
    const elsewhere = new ApiKeyService(t.db.dataSource, t.service);
    expect(await principalFrom(`Bearer ${key}`, keys)).toMatchObject({ account: 'credentials-replicated' });
    await elsewhere.revoke('credentials-replicated', 'test');
    expect(await codeOf(principalFrom(`Bearer ${key}`, keys, 0))).toBe('UNAUTHENTICATED');
  });

  it('absent reads as anonymous; anything else that names no active key is refused, never downgraded', async () => {
    for (const none of [undefined, null, '']) expect(await principalFrom(none, keys)).toBe(ANONYMOUS);
    for (const bad of ['   ', 'Bearer', `Bearer ${writerKey}x`, 'Bearer cpk_made-up-0123456789abcdefghijklmnopqrstu', 42, ['Bearer x'], { key: writerKey }]) {
      expect(await codeOf(principalFrom(bad, keys)), JSON.stringify(bad)).toBe('UNAUTHENTICATED');
    }
  });

  it('in another scheme is refused as one, not looked up as a key', async () => {
    await expect(principalFrom(`Token ${writerKey}`, keys)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/unsupported Authorization scheme/) });
    await expect(principalFrom(123 as unknown, keys)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/must be a string/) });
  });
});

describe('an HTTP request', () => {
  const key = ed25519FromSeed(randomBytes(32));
  const did = didKeyFromPublicKey(key.publicKey);
  const signed = (body: string): SignedRequest => {
    const timestamp = String(Date.now());
    const raw = new TextEncoder().encode(body);
    return { audience: 'test.chainproof', did, timestamp, method: 'POST', path: '/graphql', body: raw, signature: key.sign(requestSigningBytes('test.chainproof', 'POST', '/graphql', timestamp, raw)).toString('hex') };
  };
  beforeAll(async () => {
    await dids.register(did, 'reader', 'request-signer', 'test');
  });

  it('signed by a registered DID is that DID; with its bearer key too it is refused', async () => {
    expect(await principalOfRequest(undefined, signed('{"query":"{a}"}'), keys, dids)).toMatchObject({ kind: 'did', account: did, role: 'reader' });
    expect(await codeOf(principalOfRequest(`Bearer ${writerKey}`, signed('{"query":"{b}"}'), keys, dids))).toBe('UNAUTHENTICATED');
  });

  it('is refused when its body is not the one signed', async () => {
    const s = signed('{"query":"{c}"}');
    expect(await codeOf(principalOfRequest(undefined, { ...s, body: new TextEncoder().encode('{"query":"{d}"}') }, keys, dids))).toBe('UNAUTHENTICATED');
  });

  it('unsigned is its bearer key, or anonymous', async () => {
    expect(await principalOfRequest(`Bearer ${writerKey}`, undefined, keys, dids)).toMatchObject({ account: 'credentials-writer' });
    expect(await principalOfRequest(undefined, undefined, keys, dids)).toBe(ANONYMOUS);
  });
});
