import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { newApiKey, type ApiKeyService } from './api-keys.js';

export type BootstrapResult =
  | { kind: 'configured'; created: boolean }
  | { kind: 'generated'; path: string }
  | { kind: 'none' };

/**
 * Makes sure someone can administer a new server: `CHAINPROOF_ADMIN_KEY` is registered as an
 * admin key; otherwise, on the embedded default, the first start writes a fresh admin key to
 * `<data dir>/admin.key` (0600). Against PostgreSQL without one, `chainproof keys create` does it.
 */
export async function bootstrapAdminKey(config: Config, keys: ApiKeyService, embedded: boolean): Promise<BootstrapResult> {
  if (config.adminKey) return { kind: 'configured', created: await keys.ensureBootstrapKey(config.adminKey) };
  if (!embedded || (await keys.count()) > 0) return { kind: 'none' };
  // Written before it is registered: a key registered but never written would leave no admin, and
  // no second try (the next start finds a key). `mode` applies only to a new file, hence the chmod.
  const key = newApiKey();
  const path = join(config.dataDir, 'admin.key');
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  await keys.register('admin', 'admin', key, 'chainproof');
  return { kind: 'generated', path };
}
