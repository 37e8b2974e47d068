import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SYSTEM_LEDGER } from '../../src/auth/api-keys.js';
import { KnownDidService, requestSigningBytes } from '../../src/auth/known-dids.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

const AUDIENCE = 'test.chainproof';
/** The window a signed request's timestamp must fall in, either side of the server's clock. */
const FIVE_MINUTES = 5 * 60_000;

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger();
  await t.service.createLedger(SYSTEM_LEDGER, {});
});
afterAll(async () => t?.close());

/** A did:key client signing requests to this audience, as the request-signing headers carry them. */
function signer() {
  const key = ed25519FromSeed(randomBytes(32));
  const did = didKeyFromPublicKey(key.publicKey);
  return {
    did,
    /** The (timestamp, signature, signed bytes) of one POST /graphql with `body`. */
    request(body = '{"query":"{ ledgers { name } }"}', ts = Date.now()) {
      const timestamp = String(ts);
      const bytes = requestSigningBytes(AUDIENCE, 'POST', '/graphql', timestamp, body);
      return { timestamp, signature: key.sign(bytes).toString('hex'), bytes };
    },
  };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
  );

describe('the bytes a request signature covers', () => {
  it('are the documented lines: version, audience, method, path, timestamp and the body\'s SHA-256', () => {
    const body = '{"query":"{ ledgers { name } }"}';
    const digest = createHash('sha256').update(body).digest('hex');
    expect(requestSigningBytes('a.example', 'post', '/graphql', '1700000000000', body).toString('utf8')).toBe(
      `chainproof-request-v2\na.example\nPOST\n/graphql\n1700000000000\n${digest}`,
    );
    expect(requestSigningBytes('a.example', 'POST', '/graphql', '1', new TextEncoder().encode(body))).toEqual(requestSigningBytes('a.example', 'POST', '/graphql', '1', body));
  });
});

describe('a signed request', () => {
  it('of a registered DID stands for it, with its role and name, once', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const s = signer();
    await dids.register(s.did, 'writer', 'signed-writer', 'test');
    const r = s.request();
    expect(await dids.authenticate(s.did, r.timestamp, r.signature, r.bytes)).toEqual({ kind: 'did', account: s.did, role: 'writer', keyId: 'signed-writer' });
    expect(await refusal(dids.authenticate(s.did, r.timestamp, r.signature, r.bytes))).toMatch(/^UNAUTHENTICATED: .*replayed signature/);
  });

  it('is refused when its timestamp is more than five minutes off, either way, or not a plain count of milliseconds', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const s = signer();
    await dids.register(s.did, 'reader', 'clock-skewed', 'test');
    for (const off of [FIVE_MINUTES + 30_000, -(FIVE_MINUTES + 30_000), 3_600_000, -3_600_000]) {
      const r = s.request(undefined, Date.now() + off);
      expect(await refusal(dids.authenticate(s.did, r.timestamp, r.signature, r.bytes)), `${off} ms off`).toMatch(/^UNAUTHENTICATED: .*timestamp/);
    }
    for (const off of [-(FIVE_MINUTES - 30_000), FIVE_MINUTES - 30_000]) {
      const r = s.request(undefined, Date.now() + off);
      expect(await refusal(dids.authenticate(s.did, r.timestamp, r.signature, r.bytes)), `${off} ms off`).toBe('accepted');
    }
    for (const timestamp of [`${Date.now()}.0`, `+${Date.now()}`, ` ${Date.now()}`, '']) {
      const bytes = requestSigningBytes(AUDIENCE, 'POST', '/graphql', timestamp, '{}');
      const k = ed25519FromSeed(randomBytes(32));
      const did = didKeyFromPublicKey(k.publicKey);
      await dids.register(did, 'reader', `odd-${randomBytes(3).toString('hex')}`, 'test');
      expect(await refusal(dids.authenticate(did, timestamp, k.sign(bytes).toString('hex'), bytes)), JSON.stringify(timestamp)).toMatch(/^UNAUTHENTICATED: .*timestamp/);
    }
  });

  it.each([
    ['taken with its timestamp exactly five minutes off', FIVE_MINUTES, 'accepted'],
    ['refused with its timestamp one millisecond past five minutes off', FIVE_MINUTES + 1, expect.stringMatching(/^UNAUTHENTICATED: .*timestamp/)],
  ])('is %s, either way', async (_, skew, outcome) => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const s = signer();
    await dids.register(s.did, 'reader', `skew-${skew}`, 'test');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const now = Date.now();
      vi.setSystemTime(now);
      for (const off of [-skew, skew]) {
        const r = s.request(undefined, now + off);
        expect(await refusal(dids.authenticate(s.did, r.timestamp, r.signature, r.bytes)), `${off} ms off`).toEqual(outcome);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('is refused when its signature carries anything but 128 hex digits, even with a valid signature in front', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const s = signer();
    await dids.register(s.did, 'reader', 'padded-signer', 'test');
    const r = s.request();
    for (const signature of [`${r.signature}zz`, `${r.signature}0`, r.signature.slice(0, 126), `0x${r.signature}`]) {
      expect(await refusal(dids.authenticate(s.did, r.timestamp, signature, r.bytes))).toMatch(/^UNAUTHENTICATED: .*128 hex/);
    }
    // Nothing above claimed the signature: the request itself is still good once.
    expect(await refusal(dids.authenticate(s.did, r.timestamp, r.signature, r.bytes))).toBe('accepted');
  });

  it('is refused for an unknown DID, and for one revoked since', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const s = signer();
    const r1 = s.request();
    expect(await refusal(dids.authenticate(s.did, r1.timestamp, r1.signature, r1.bytes))).toMatch(/^UNAUTHENTICATED: .*unknown or revoked DID/);
    await dids.register(s.did, 'writer', 'soon-revoked', 'test');
    await dids.revoke(s.did, 'test');
    const r2 = s.request('{"query":"{ ledgers { origin } }"}');
    expect(await refusal(dids.authenticate(s.did, r2.timestamp, r2.signature, r2.bytes))).toMatch(/^UNAUTHENTICATED: .*unknown or revoked DID/);
  });

  it('is remembered as used past its window, though other processes prune the used signatures meanwhile', async () => {
    const s = signer();
    await new KnownDidService(t.db.dataSource, t.service).register(s.did, 'reader', 'replayed-late', 'test');
    // Signed four minutes ago: still inside the window.
    const old = s.request(undefined, Date.now() - 4 * 60_000);
    expect(await refusal(new KnownDidService(t.db.dataSource, t.service).authenticate(s.did, old.timestamp, old.signature, old.bytes))).toBe('accepted');
    // Another process's first request prunes the used signatures that expired; wait for its prune.
    const pruner = new KnownDidService(t.db.dataSource, t.service);
    const query = t.db.dataSource.query.bind(t.db.dataSource);
    const prunes: Array<Promise<unknown>> = [];
    const spy = vi.spyOn(t.db.dataSource, 'query').mockImplementation((sql: string, params?: any) => {
      const p = query(sql, params);
      if (sql.startsWith('DELETE FROM used_request_signatures')) prunes.push(p);
      return p;
    });
    try {
      const fresh = s.request('{"query":"{ ledgers { hashAlg } }"}');
      expect(await refusal(pruner.authenticate(s.did, fresh.timestamp, fresh.signature, fresh.bytes))).toBe('accepted');
    } finally {
      spy.mockRestore();
    }
    expect(prunes).toHaveLength(1);
    await prunes[0];
    expect(await refusal(pruner.authenticate(s.did, old.timestamp, old.signature, old.bytes))).toMatch(/^UNAUTHENTICATED: .*replayed signature/);
    // Remembered until twice the window past its timestamp: a process whose clock runs behind still finds it.
    const [used] = await t.db.dataSource.query(`SELECT expires_at FROM used_request_signatures WHERE signature = $1`, [Buffer.from(old.signature, 'hex')]);
    expect(used.expires_at).toEqual(new Date(Number(old.timestamp) + 2 * FIVE_MINUTES));
  });

  it('prunes the used signatures at most once a minute in a process, not at every request', async () => {
    const s = signer();
    const dids = new KnownDidService(t.db.dataSource, t.service);
    await dids.register(s.did, 'reader', 'pruned-once', 'test');
    const query = t.db.dataSource.query.bind(t.db.dataSource);
    let prunes = 0;
    const spy = vi.spyOn(t.db.dataSource, 'query').mockImplementation((sql: string, params?: any) => {
      if (sql.startsWith('DELETE FROM used_request_signatures')) prunes++;
      return query(sql, params);
    });
    try {
      for (const body of ['{"query":"{ a }"}', '{"query":"{ b }"}', '{"query":"{ c }"}']) {
        const r = s.request(body);
        expect(await refusal(dids.authenticate(s.did, r.timestamp, r.signature, r.bytes))).toBe('accepted');
      }
    } finally {
      spy.mockRestore();
    }
    expect(prunes).toBe(1);
  });
});

describe('registering a DID', () => {
  it('refuses one registered already, takes it again after its revocation, and revokes only what is registered', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const s = signer();
    await dids.register(s.did, 'reader', 'first-name', 'test');
    await expect(dids.register(s.did, 'admin', 'second-name', 'test')).rejects.toMatchObject({ code: 'CONFLICT' });
    await dids.revoke(s.did, 'test');
    await expect(dids.revoke(s.did, 'test')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const again = await dids.register(s.did, 'writer', 'second-name', 'test');
    expect(again).toMatchObject({ did: s.did, role: 'writer', name: 'second-name', revokedAt: null });
    const r = s.request();
    expect(await dids.authenticate(s.did, r.timestamp, r.signature, r.bytes)).toMatchObject({ role: 'writer', keyId: 'second-name' });
    await expect(dids.revoke(signer().did, 'test')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses anything but an Ed25519 did:key, and a name that is not 1..64 of letters, digits and . _ @ : -, writing nothing', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const before = (await dids.list()).length;
    for (const did of ['did:web:example.com', 'did:key:z6MkNotBase58!', `did:key:z${'1'.repeat(46)}`]) {
      await expect(dids.register(did, 'reader', 'not-a-key', 'test'), did).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(dids.revoke(did, 'test'), did).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    for (const name of ['', '.hidden', '-dash', 'has space', 'a'.repeat(65), 'semi;colon']) {
      await expect(dids.register(signer().did, 'reader', name, 'test'), JSON.stringify(name)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    expect(await dids.list()).toHaveLength(before);
    expect((await dids.register(signer().did, 'reader', 'a'.repeat(64), 'test')).name).toBe('a'.repeat(64));
  });

  it('refuses an unknown role, and agents for a role that records no audits, writing nothing', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const before = (await dids.list()).length;
    await expect(dids.register(signer().did, 'root', 'rooted', 'test')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(dids.register(signer().did, 'reader', 'bound-reader', 'test', { agents: ['a'] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(dids.register(signer().did, 'writer', 'bound-to-none', 'test', { agents: [] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await dids.list()).toHaveLength(before);
  });

  it('binds a writer DID to its agents: its requests carry them', async () => {
    const dids = new KnownDidService(t.db.dataSource, t.service);
    const s = signer();
    await dids.register(s.did, 'writer', 'bound-writer', 'test', { agents: ['agent-a', 'agent-a', 'agent-b'] });
    const r = s.request();
    expect(await dids.authenticate(s.did, r.timestamp, r.signature, r.bytes)).toMatchObject({ role: 'writer', agents: ['agent-a', 'agent-b'] });
  });
});
