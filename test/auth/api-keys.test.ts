import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiKeyService, SYSTEM_LEDGER } from '../../src/auth/api-keys.js';
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
