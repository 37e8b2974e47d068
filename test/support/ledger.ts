import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import type { LedgerMetrics } from '../../src/ledger/metrics.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { openTestDatabase, type TestDatabase } from './db.js';

export const TEST_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

/** Small blocks, trivial difficulty: tests exercise the machinery, not the CPU. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    CHAINPROOF_ORIGIN: 'test.chainproof',
    CHAINPROOF_SIGNING_SEED: TEST_SEED,
    CHAINPROOF_BLOCK_SIZE: '8',
    CHAINPROOF_MAX_BLOCK_INTERVAL_MS: '50',
    CHAINPROOF_MIN_DIFFICULTY: '1',
    CHAINPROOF_INITIAL_DIFFICULTY: '4',
    CHAINPROOF_MAX_DIFFICULTY: '8',
    CHAINPROOF_TARGET_BLOCK_MS: '50',
    CHAINPROOF_CHECKPOINT_INTERVAL: '16',
    ...overrides,
  });
}

export interface TestLedger {
  db: TestDatabase;
  service: LedgerService;
  config: Config;
  close(): Promise<void>;
}

export async function openTestLedger(
  overrides: Record<string, string> = {},
  options: { produceBlocks?: boolean; metrics?: LedgerMetrics; poolSize?: number } = {},
): Promise<TestLedger> {
  const db = await openTestDatabase({ poolSize: options.poolSize });
  const config = testConfig(overrides);
  const key = loadServerKey(config, false)?.key;
  const service = new LedgerService(db.dataSource, config, key, pino({ level: 'silent' }), options);
  await service.start();
  return {
    db,
    service,
    config,
    async close() {
      await service.stop();
      await db.destroy();
    },
  };
}
