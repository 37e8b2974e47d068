import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, SYSTEM_LEDGER } from '../../src/auth/api-keys.js';
import { bootstrapAdminKey } from '../../src/auth/bootstrap.js';
import type { Config } from '../../src/config.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
let dir: string;
beforeAll(async () => {
  t = await openTestLedger();
  await t.service.createLedger(SYSTEM_LEDGER, {});
  dir = mkdtempSync(join(tmpdir(), 'chainproof-bootstrap-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t?.close();
});

describe('the first admin key of an embedded database', () => {
  it('is registered only once written: a file that cannot be written leaves no key, and the next start tries again', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const unwritable = { dataDir: join(dir, 'missing', 'deeper') } as Config;
    await expect(bootstrapAdminKey(unwritable, keys, true)).rejects.toThrow(/ENOENT/);
    expect(await keys.count()).toBe(0);

    // An admin.key left behind, readable by all: rewritten 0600, holding the key now registered.
    const path = join(dir, 'admin.key');
    writeFileSync(path, 'stale\n', { mode: 0o644 });
    const r = await bootstrapAdminKey({ dataDir: dir } as Config, keys, true);
    expect(r).toEqual({ kind: 'generated', path });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const principal = await keys.authenticate(readFileSync(path, 'utf8').trim());
    expect(principal).toMatchObject({ account: 'admin', role: 'admin' });
    expect(await bootstrapAdminKey({ dataDir: dir } as Config, keys, true)).toEqual({ kind: 'none' });
  });
});

describe('the first admin key of a server on PostgreSQL', () => {
  it('is the configured one, registered once, and never a generated file', async () => {
    const keys = new ApiKeyService(t.db.dataSource, t.service);
    const own = mkdtempSync(join(tmpdir(), 'chainproof-bootstrap-pg-'));
    try {
      const adminKey = 'cpk_configured-admin-0123456789abcdefghij';
      const config = { dataDir: own, adminKey } as Config;
      expect(await bootstrapAdminKey(config, keys, false)).toEqual({ kind: 'configured', created: true });
      expect(await keys.authenticate(adminKey, 0)).toMatchObject({ role: 'admin' });
      expect(await bootstrapAdminKey(config, keys, false)).toEqual({ kind: 'configured', created: false });
      // Without one, nothing is generated there: `chainproof keys create` makes the first.
      expect(await bootstrapAdminKey({ dataDir: own } as Config, keys, false)).toEqual({ kind: 'none' });
      expect(() => statSync(join(own, 'admin.key'))).toThrow(/ENOENT/);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('is never generated, even on an empty database', async () => {
    const empty = await openTestLedger();
    const own = mkdtempSync(join(tmpdir(), 'chainproof-bootstrap-empty-'));
    try {
      await empty.service.createLedger(SYSTEM_LEDGER, {});
      const keys = new ApiKeyService(empty.db.dataSource, empty.service);
      expect(await bootstrapAdminKey({ dataDir: own } as Config, keys, false)).toEqual({ kind: 'none' });
      expect(await keys.count()).toBe(0);
      expect(() => statSync(join(own, 'admin.key'))).toThrow(/ENOENT/);
    } finally {
      rmSync(own, { recursive: true, force: true });
      await empty.close();
    }
  });
});
