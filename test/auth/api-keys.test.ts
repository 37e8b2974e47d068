import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
