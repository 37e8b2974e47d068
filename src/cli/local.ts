import pino from 'pino';
import type { DataSource } from 'typeorm';
import { ApiKeyService, SYSTEM_LEDGER } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { openDatabase } from '../db/database.js';
import { GovernanceService } from '../governance/governance-service.js';
import type { CheckpointRow } from '../ledger/entities/index.js';
import { LedgerService } from '../ledger/ledger-service.js';
import { openNote } from '../ledger/note/index.js';
import { openServerKey } from '../ledger/server-key.js';
import { settleOriginPrefix } from '../ledger/ledgers.js';
import { ProvenanceService } from '../provenance/service.js';
import { RulesService } from '../rules/rules-service.js';
import { SyncService } from '../sync/sync-service.js';
import { CosignatureCollector } from '../witness/cosignatures.js';
import { directSource, type LedgerSource } from './source.js';
import { tallyCosignatures, type WitnessPolicy } from './verify-proof.js';

/**
 * The CLI's commands that work on the database directly. Kept apart from `main.ts` and loaded
 * only when such a command runs: TypeORM and the domain services take most of a second to
 * load, which `--url`, `verify-proof` and `--help` should not pay.
 */

/** What a CLI command may use on the database: the ledger and the domains on it. */
export interface CliServices {
  ledger: LedgerService;
  keys: ApiKeyService;
  governance: GovernanceService;
  provenance: ProvenanceService;
  rules: RulesService;
  dataSource: DataSource;
}

/** `keyCheck: false` opens a database whose newest checkpoint the configured key did not sign (see checkSignedBefore): verify reports that itself. */
export async function withLedger<T>(config: Config, fn: (services: CliServices) => Promise<T>, options: { keyCheck?: boolean } = {}): Promise<T> {
  const db = await openDatabase(config);
  let ledger: LedgerService | undefined;
  // Everything after the open is inside: a failure that left the database open would hang the command.
  try {
    config = await settleOriginPrefix(db.dataSource, config);
    const key = (await openServerKey(config, db, options))?.key;
    // No background mining: a CLI command does its one job (checkpoint seals what it needs itself).
    ledger = new LedgerService(db.dataSource, config, key, pino({ level: 'silent' }), { produceBlocks: false });
    await ledger.start(['main', SYSTEM_LEDGER]);
    const governance = new GovernanceService(db.dataSource, ledger, config.governance);
    await governance.start();
    const rules = new RulesService(db.dataSource, ledger, governance, config.rulesAuthority);
    rules.start();
    return await fn({ ledger, keys: new ApiKeyService(db.dataSource, ledger), governance, rules, provenance: new ProvenanceService(db.dataSource, ledger), dataSource: db.dataSource });
  } finally {
    await ledger?.stop();
    await db.close();
  }
}

/** A sync service that syncs only when told (`now`): a server's timers are its own. */
export async function startLocalSync(config: Config, { dataSource, ledger }: CliServices): Promise<SyncService> {
  const sync = new SyncService(dataSource, ledger, { ...config.sync, enabled: false }, pino({ level: 'silent' }));
  await sync.start();
  return sync;
}

/** A checkpoint's note with the cosignature lines stored for `validators`, as a server serves it. */
function cosignedNote({ dataSource, ledger }: CliServices, validators: Array<{ url: string; vkey: string }>): (c: CheckpointRow) => Promise<string> {
  const collector = new CosignatureCollector(dataSource, ledger, validators, pino({ level: 'silent' }));
  return async (c) => c.note + (await collector.lines(c.id)).map((l) => l.line).join('');
}

/** The ledger in this process, its checkpoints' notes with the configured validators' cosignatures (so proofs carry them). */
export function localSource(services: CliServices, config: Config): LedgerSource {
  return directSource(services.ledger, cosignedNote(services, config.validators));
}

/** Whether the ledger's latest checkpoint carries enough valid cosignatures from the policy's witnesses. */
export async function checkWitnessPolicy(services: CliServices, name: string, policy: WitnessPolicy) {
  const c = await services.ledger.checkpoint(name);
  if (!c) return { ok: false, message: 'the ledger has no checkpoint yet' };
  const note = await cosignedNote(services, policy.keys.map((vkey) => ({ url: 'http://unused', vkey })))(c);
  const { have, need, witnesses } = tallyCosignatures(note, openNote(c.note).text, policy);
  return { ok: have >= need, treeSize: c.treeSize, cosignatures: have, required: need, message: `the checkpoint at tree size ${c.treeSize} carries ${have} valid cosignatures of the ${witnesses} witnesses; the policy needs ${need}` };
}
