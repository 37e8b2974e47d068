import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { ApiKeyService } from './api-keys.js';

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
  const { key } = await keys.create('admin', 'admin', 'chainproof');
  const path = join(config.dataDir, 'admin.key');
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return { kind: 'generated', path };
}
