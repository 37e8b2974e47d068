import 'reflect-metadata';
import type { Config } from '../config.js';
import { ChainproofError } from '../errors.js';
import { openDatabase } from '../db/database.js';
import { ED25519_SIGNING } from '../ledger/events/ed25519.js';
import { LedgerService } from '../ledger/ledger-service.js';
import { openServerKey } from '../ledger/server-key.js';
import { settleOriginPrefix } from '../ledger/ledgers.js';
import { createLogger } from '../logger.js';
import { startHttpServer } from './http.js';
import { prometheusMetrics } from './metrics.js';
import { ApiKeyService, SYSTEM_LEDGER } from '../auth/api-keys.js';
import { bootstrapAdminKey } from '../auth/bootstrap.js';
import { KnownDidService } from '../auth/known-dids.js';
import { GovernanceService } from '../governance/governance-service.js';
import { WitnessService } from '../witness/witness-service.js';
import { CosignatureCollector } from '../witness/cosignatures.js';
import { ProvenanceService } from '../provenance/service.js';
import { RulesService } from '../rules/rules-service.js';
import { SyncService } from '../sync/sync-service.js';

/**
 * Starts the whole server and stops it cleanly on SIGTERM/SIGINT: stop taking requests,
 * drain in-flight appends (each is answered only after commit), stop mining, close the database.
 */
/** A signal this soon after the first is the same request delivered twice. */
const REPEATED_SIGNAL_MS = 2_000;

export async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const db = await openDatabase(config);
  // What has started, to stop (latest first) if start-up fails: the open database alone keeps the
  // process alive, so a failure after it would leave the process hung instead of exiting with the error.
  const started: Array<() => Promise<void>> = [() => db.close()];
  let loaded: Awaited<ReturnType<typeof openServerKey>>;
  let ledger: LedgerService, governance: GovernanceService, rules: RulesService, cosignatures: CosignatureCollector, sync: SyncService;
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    config = await settleOriginPrefix(db.dataSource, config);
    loaded = await openServerKey(config, db);
    if (!loaded && config.auditAgents.length > 0) {
      // Each audit is an event the server signs: without a key every one would be refused, and
      // the agents' operations answered unaudited.
      throw new ChainproofError('CONFIG_INVALID', 'CHAINPROOF_AUDIT_AGENTS needs a signing key, which signs the audits: set CHAINPROOF_SIGNING_SEED or CHAINPROOF_SIGNING_KEY_FILE');
    }
    // On PostgreSQL, LISTEN so subscribers here see what other server processes commit.
    let ledgerRef: LedgerService | undefined;
    let cosignaturesRef: CosignatureCollector | undefined;
    const prometheus = prometheusMetrics(db.dataSource, () => ledgerRef?.bus, () => cosignaturesRef?.divergences() ?? []);
    ledger = new LedgerService(db.dataSource, config, loaded?.key, log, { listenUrl: config.databaseUrl, metrics: prometheus.metrics });
    ledgerRef = ledger;
    started.push(() => ledger.stop());
    await ledger.start(['main', SYSTEM_LEDGER]);
    const keys = new ApiKeyService(db.dataSource, ledger);
    const bootstrap = await bootstrapAdminKey(config, keys, db.kind === 'embedded');
    if (bootstrap.kind === 'generated') log.info({ path: bootstrap.path }, `created the first admin API key in ${bootstrap.path}`);
    governance = new GovernanceService(db.dataSource, ledger, config.governance);
    started.push(() => governance.stop());
    await governance.start();
    rules = new RulesService(db.dataSource, ledger, governance, config.rulesAuthority, config.maxBatch);
    // Before block rewards: they ask the rules engine which events its firings wrote.
    rules.start();
    started.push(() => rules.stop());
    await governance.startBlockRewards(log);
    if (config.rulesBuiltins) await rules.installBuiltins(log);
    await rules.startConsumer(log);
    cosignatures = new CosignatureCollector(db.dataSource, ledger, config.validators, log);
    cosignaturesRef = cosignatures;
    started.push(() => cosignatures.stop());
    await cosignatures.start();
    sync = new SyncService(db.dataSource, ledger, config.sync, log);
    const witness = loaded ? new WitnessService(db.dataSource, loaded.key.cosigner, config.witnessLogs, log) : undefined;
    try {
      http = await startHttpServer(config, { ledger, keys, dids: new KnownDidService(db.dataSource, ledger), governance, rules, sync, witness, cosignatures, provenance: new ProvenanceService(db.dataSource, ledger), metrics: prometheus.registry, dataSource: db.dataSource, onSubscriptionExecution: prometheus.subscriptionExecuted }, log);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
        throw new ChainproofError('UNAVAILABLE', `cannot listen on ${config.host}:${config.port} (${e.code})`, { cause: err });
      }
      throw err;
    }
    started.push(() => http.close());
    log.info(
      { url: http.url, database: db.kind, dataDir: db.kind === 'embedded' ? config.dataDir : undefined },
      `Chainproof listening on ${http.url}`,
    );
    // Peers pull through the API, so it listens before this node starts pulling from them.
    started.push(() => sync.stop());
    await sync.start();
  } catch (err) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw err;
  }
  if (loaded) {
    const { key, created } = loaded;
    const rotated = key.previous.length > 0;
    log.info(
      { verifierKey: key.note.verifierKey, ...(rotated ? { previousVerifierKeys: key.previous } : {}), keySource: created ? `${key.source} (new)` : key.source, signingLibrary: ED25519_SIGNING },
      rotated ? 'checkpoints are signed; check them with this verifier key, earlier ones with the previous keys' : 'checkpoints are signed; check them with this verifier key',
    );
  } else {
    log.warn('no signing key configured (CHAINPROOF_SIGNING_SEED or CHAINPROOF_SIGNING_KEY_FILE): checkpoints are refused');
  }

  let stoppingSince: number | undefined;
  const shutdown = async (signal: string) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C under `npm start` arrives twice at once (npm forwards the terminal's): not a second request.
      if (Date.now() - stoppingSince < REPEATED_SIGNAL_MS) return;
      // An operator who signals again will not wait for the drain; what was acknowledged is committed.
      log.warn({ signal }, 'second signal while draining: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'shutting down');
    try {
      await http.close();
      log.info('HTTP and WebSocket closed; draining appends');
      await sync.stop();
      await rules.stop();
      await cosignatures.stop();
      await governance.stop();
      await ledger.stop();
      log.info('ledger stopped; closing database');
      await db.close();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
