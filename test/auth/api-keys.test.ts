import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiKeyService, SYSTEM_LEDGER } from '../../src/auth/api-keys.js';
import { ChainproofError } from '../../src/errors.js';
import { codeOf } from '../support/codes.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger();
  await t.service.createLedger(SYSTEM_LEDGER, {});
});
afterAll(async () => t?.close());

describe('the bootstrap admin key', () => {
  it('registered by servers starting together: once, and neither fails', async () => {
    // Two services, as two processes on one database: both look, find nothing, and write.
    const servers = [new ApiKeyService(t.db.dataSource, t.service), new ApiKeyService(t.db.dataSource, t.service)];
    const key = 'cpk_bootstrap-race-0123456789abcdefghijklmnopq';
    const created = await Promise.all(servers.map((s) => s.ensureBootstrapKey(key)));
    expect(created.sort()).toEqual([false, true]);
    const rows = await t.db.dataSource.query(`SELECT role FROM api_keys WHERE name LIKE 'bootstrap-admin-%'`);
    expect(rows).toEqual([{ role: 'admin' }]);
    expect(await servers[0]!.ensureBootstrapKey(key)).toBe(false);
  });

  it('is not taken as registered by another server when its write conflicts and the key is still unknown', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    // A conflict on the name alone: no admin key exists, so starting must fail, not report the key as there.
    vi.spyOn(keys, 'register').mockRejectedValueOnce(new ChainproofError('CONFLICT', 'an active key with this name exists'));
    expect(await codeOf(keys.ensureBootstrapKey('cpk_bootstrap-conflict-0123456789abcdefghij'))).toBe('CONFLICT');
  });
});

describe('revocation', () => {
  it('a look-up that read the key before its revocation committed does not cache it as valid', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const { key } = await keys.create('revoked-midway', 'writer', 'test');
    // Hold the look-up's SELECT until the revocation has committed.
    const query = t.db.dataSource.query.bind(t.db.dataSource);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const spy = vi.spyOn(t.db.dataSource, 'query').mockImplementation(async (sql: string, params?: any) => {
      if (sql.includes('FROM api_keys WHERE key_hash')) {
        const rows = await query(sql, params);
        await held;
        return rows;
      }
      return query(sql, params);
    });
    const lookUp = keys.authenticate(key);
    await new Promise((r) => setTimeout(r, 50));
    spy.mockRestore();
    await keys.revoke('revoked-midway', 'test');
    release();
    expect(await lookUp).toMatchObject({ account: 'revoked-midway' });
    // The next look-up, within the cache's 5 s, must not be served that stale answer.
    expect(await keys.authenticate(key)).toBeNull();
  });

  it('in this process refuses the key at once, though it was looked up (and so trusted for five seconds) just before', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const { key } = await keys.create('revoked-here', 'writer', 'test');
    expect(await keys.authenticate(key)).toMatchObject({ account: 'revoked-here' });
    await keys.revoke('revoked-here', 'test');
    expect(await keys.authenticate(key)).toBeNull();
  });

  it('tells listeners in this process at once; an id is revoked before a key merely named like it', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    let told = 0;
    const stop = keys.onRevoke(() => told++);
    await keys.create('told-of', 'reader', 'test');
    await keys.revoke('told-of', 'test');
    expect(told).toBe(1);
    stop();
    await expect(keys.create('key_0123456789ab', 'reader', 'test')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    // A name like an id, made before such names were refused.
    const victim = await keys.create('victim', 'reader', 'test');
    await t.db.dataSource.query(`UPDATE api_keys SET name = 'key_legacy' WHERE id = $1`, [victim.record.id]);
    const target = await keys.create('target', 'reader', 'test');
    await t.db.dataSource.query(`UPDATE api_keys SET id = 'key_legacy' WHERE id = $1`, [target.record.id]);
    expect((await keys.revoke('key_legacy', 'test')).name).toBe('target');
    expect((await keys.list()).find((k) => k.name === 'key_legacy')?.revokedAt).toBeNull();
    expect(told).toBe(1);
  });
});

describe('a key', () => {
  it('is refused by name when it is taken by an active key, or when the very key is registered already; a revoked key\'s name is free again', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const { key } = await keys.create('taken-name', 'reader', 'test');
    await expect(keys.create('taken-name', 'reader', 'test')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(keys.register('another-name', 'admin', key, 'test')).rejects.toMatchObject({ code: 'CONFLICT' });
    await keys.revoke('taken-name', 'test');
    const again = await keys.create('taken-name', 'writer', 'test');
    expect(await keys.authenticate(again.key)).toMatchObject({ account: 'taken-name', role: 'writer', keyId: again.record.id });
    expect(await keys.authenticate(key)).toBeNull();
  });

  it('revoked once: a second revocation of it, by id or name, finds no active key', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const made = await keys.create('revoked-once', 'reader', 'test');
    await keys.revoke(made.record.id, 'test');
    await expect(keys.revoke(made.record.id, 'test')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(keys.revoke('revoked-once', 'test')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('revoked by two requests at once is revoked once: the other is refused and the ledger holds one revocation', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const made = await keys.create('revoked-twice-at-once', 'reader', 'test');
    const outcomes = await Promise.allSettled([keys.revoke('revoked-twice-at-once', 'a'), keys.revoke('revoked-twice-at-once', 'b')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const events = await t.db.dataSource.query(
      `SELECT e.type FROM events e JOIN ledgers l ON l.id = e.ledger_id WHERE l.name = $1 AND e.resource = $2`,
      [SYSTEM_LEDGER, `apikey/${made.record.id}`],
    );
    expect(events.map((e: { type: string }) => e.type).sort()).toEqual(['ApiKeyCreated', 'ApiKeyRevoked']);
  });

  it('names must start with a letter or digit, are not key ids in any case, and roles are the five', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    for (const name of ['.hidden', '-dash', '_under', '@at', 'KEY_abc', 'Key_abc', '', 'a'.repeat(65), 'has space']) {
      await expect(keys.create(name, 'reader', 'test'), JSON.stringify(name)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    for (const name of ['Anonymous', 'RULES', 'did:web:x', 'DID:key:z', 'Contract:1', 'chainproof']) {
      await expect(keys.create(name, 'admin', 'test'), name).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/reserved/) });
    }
    await expect(keys.create('no-such-role', 'root', 'test')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await keys.create('a'.repeat(64), 'reader', 'test')).record.name).toBe('a'.repeat(64));
  });

  it('chosen by the operator needs 32 characters, and works without the cpk_ prefix', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    await expect(keys.register('short-key', 'reader', 'x'.repeat(31), 'test')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const chosen = 'operator-chosen-0123456789abcdefgh';
    expect(chosen.length).toBeGreaterThanOrEqual(32);
    await keys.register('operator-key', 'writer', chosen, 'test');
    expect(await keys.authenticate(chosen)).toMatchObject({ kind: 'api-key', account: 'operator-key', role: 'writer' });
    expect(await keys.authenticate(`${chosen} `)).toBeNull();
    const exactly32 = 'operator-chosen-0123456789abcdef';
    expect(exactly32).toHaveLength(32);
    await keys.register('operator-key-32', 'reader', exactly32, 'test');
    expect(await keys.authenticate(exactly32)).toMatchObject({ account: 'operator-key-32', role: 'reader' });
  });

  it('named like a server identity before such names were refused acts as nobody', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const made = await keys.create('legacy-rules', 'governor', 'test');
    await t.db.dataSource.query(`UPDATE api_keys SET name = 'rules' WHERE id = $1`, [made.record.id]);
    expect(await keys.authenticate(made.key, 0)).toBeNull();
  });
});

describe('a key bound to agents', () => {
  it('lists each agent once, up to 64 of them, none empty', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const made = await keys.create('bound-twice', 'writer', 'test', { agents: ['agent-a', 'agent-b', 'agent-a'] });
    expect(made.record.agents).toEqual(['agent-a', 'agent-b']);
    expect(await keys.authenticate(made.key)).toMatchObject({ role: 'writer', agents: ['agent-a', 'agent-b'] });
    const many = Array.from({ length: 64 }, (_, i) => `agent-${i}`);
    expect((await keys.create('bound-to-64', 'writer', 'test', { agents: many })).record.agents).toHaveLength(64);
    await expect(keys.create('bound-to-65', 'writer', 'test', { agents: [...many, 'agent-64'] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(keys.create('bound-to-empty', 'writer', 'test', { agents: ['agent-a', ''] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(keys.create('bound-to-nothing', 'writer', 'test', { agents: [] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(keys.create('bound-reader', 'reader', 'test', { agents: ['agent-a'] })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await keys.create('bound-governor', 'governor', 'test', { agents: ['agent-a'] })).record.agents).toEqual(['agent-a']);
    expect((await keys.list()).map((k) => k.name)).not.toContain('bound-to-65');
  });

  it('takes a list of agent ids of 1..512 characters of storable text, and nothing else, writing nothing for a refusal', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const before = (await keys.list()).length;
    const refused: unknown[] = ['agent-a', { 0: 'agent-a', length: 1 }, ['agent-a', 7], ['agent-a', null], ['a'.repeat(513)], ['agent\u0000a'], ['agent-\ud800']];
    for (const agents of refused) {
      expect(await codeOf(keys.create('bound-badly', 'writer', 'test', { agents: agents as string[] })), JSON.stringify(agents)).toBe('BAD_USER_INPUT');
    }
    expect((await keys.list()).length).toBe(before);
    expect((await keys.create('bound-to-long-id', 'writer', 'test', { agents: ['a'.repeat(512)] })).record.agents).toEqual(['a'.repeat(512)]);
  });
});

describe('a key look-up', () => {
  it('is trusted for at most five seconds: a revocation by another process shows after that, and at once when asked with no age', async () => {
    const here = new ApiKeyService(t.db.dataSource, t.service);
    const elsewhere = new ApiKeyService(t.db.dataSource, t.service);
    const { key } = await here.create('revoked-elsewhere', 'writer', 'test');
    expect(await here.authenticate(key)).toMatchObject({ account: 'revoked-elsewhere' });
    await elsewhere.revoke('revoked-elsewhere', 'test');
    // Within its five seconds, this process may still answer from what it read.
    expect(await here.authenticate(key, 0)).toBeNull();
    const { key: other } = await here.create('revoked-elsewhere-later', 'writer', 'test');
    expect(await here.authenticate(other)).toMatchObject({ account: 'revoked-elsewhere-later' });
    await elsewhere.revoke('revoked-elsewhere-later', 'test');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 5_100);
      expect(await here.authenticate(other)).toBeNull();
      expect(await here.authenticate(other, 60_000)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('is not trusted once five seconds have passed', async () => {
    const here = new ApiKeyService(t.db.dataSource, t.service);
    const { key } = await here.create('five-seconds-on', 'writer', 'test');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const now = Date.now();
      vi.setSystemTime(now);
      expect(await here.authenticate(key)).toMatchObject({ account: 'five-seconds-on' });
      await new ApiKeyService(t.db.dataSource, t.service).revoke('five-seconds-on', 'test');
      vi.setSystemTime(now + 5_000);
      expect(await here.authenticate(key)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('asked with an age longer than five seconds still looks again after five', async () => {
    const here = new ApiKeyService(t.db.dataSource, t.service);
    const { key } = await here.create('long-age', 'writer', 'test');
    expect(await here.authenticate(key, 60_000)).toMatchObject({ account: 'long-age' });
    await new ApiKeyService(t.db.dataSource, t.service).revoke('long-age', 'test');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 5_100);
      expect(await here.authenticate(key, 60_000)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the bootstrap admin key', () => {
  it('once revoked is not registered again at the next start', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const key = 'cpk_bootstrap-revoked-0123456789abcdefghijk';
    expect(await keys.ensureBootstrapKey(key)).toBe(true);
    expect(await keys.authenticate(key, 0)).toMatchObject({ role: 'admin' });
    const [made] = (await keys.list()).filter((k) => k.role === 'admin' && k.createdBy === 'chainproof' && k.revokedAt === null).slice(-1);
    await keys.revoke(made!.id, 'test');
    expect(await keys.ensureBootstrapKey(key)).toBe(false);
    expect(await keys.authenticate(key, 0)).toBeNull();
  });

  it('that cannot be registered is refused, not reported as registered before', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    expect(await codeOf(keys.ensureBootstrapKey('cpk_too-short'))).toBe('BAD_USER_INPUT');
    expect(await keys.authenticate('cpk_too-short', 0)).toBeNull();
  });
});
