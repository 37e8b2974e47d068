import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { testConfig } from '../support/ledger.js';
import { compileVerifier } from './compiled.js';

/**
 * Full-verification throughput on a large ledger, with the verifier compiled as production
 * runs it, with and without the content worker. Opt-in (minutes to build the first time):
 *
 *     VERIFY_SPEED_EVENTS=1000000 DATABASE_URL=postgres://… npx vitest run test/verify/speed
 *
 * The ledger is kept in a database named after its size and reused by later runs.
 */
const target = Number(process.env.VERIFY_SPEED_EVENTS ?? 0);

describe.runIf(target > 0 && process.env.DATABASE_URL)('full verification speed', () => {
  it(`verifies ${target} unsigned events`, { timeout: 3_600_000 }, async () => {
    const base = process.env.DATABASE_URL!;
    const name = `cp_verify_speed_${target}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount;
    if (!exists) await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '', dbPoolSize: 8 });
    const config = testConfig({
      CHAINPROOF_BLOCK_SIZE: '1000',
      CHAINPROOF_CHECKPOINT_INTERVAL: '100000',
      CHAINPROOF_MAX_BATCH: '10000',
    });
    const service = new LedgerService(db.dataSource, config, loadServerKey(config, false)!.key, pino({ level: 'silent' }));
    await service.start();
    try {
      let size = (await service.head('main')).treeSize;
      const started = performance.now();
      while (size < target) {
        const n = Math.min(5_000, target - size);
        const batch = Array.from({ length: n }, (_, i) => ({
          type: i % 4 === 0 ? 'TokensTransferred' : 'QueryRecorded',
          actor: `agent:${(size + i) % 997}`,
          resource: `subject/${(size + i) % 10_007}`,
          payload: { seq: size + i, amount: (size + i) % 1000, memo: 'routine event for the speed test', tags: ['a', 'b'] },
        }));
        // Two appends in flight: group commit takes both in one transaction.
        await Promise.all([service.append('main', batch.slice(0, n / 2)), service.append('main', batch.slice(n / 2))]);
        size += n;
        if (size % 100_000 === 0) console.log(`built ${size} events in ${Math.round(performance.now() - started)} ms`);
      }
      await service.createCheckpoint('main');
      const ledger = await service.ledger('main');
      const build = compileVerifier();
      try {
        const { verifyLedger } = await build.import();
        for (const contentWorker of [true, false]) {
          for (let run = 0; run < 3; run++) {
            const cpu = process.cpuUsage();
            const report = await verifyLedger(db.dataSource, ledger, { full: true, contentWorker, verifierKeys: [service.verifierKey()!] });
            const used = process.cpuUsage(cpu);
            expect(report.issues).toEqual([]);
            console.log(
              `full (${contentWorker ? 'content worker' : 'one thread'}): ${report.eventsVerified} events, ${report.blocksVerified} blocks, ` +
                `${report.checkpointsVerified} checkpoints in ${report.durationMs} ms = ${Math.round(report.eventsVerified / (report.durationMs / 1000))} events/s ` +
                `(${((used.user + used.system) / report.eventsVerified).toFixed(2)} µs CPU per event in this process)`,
            );
          }
        }
        const quick = await verifyLedger(db.dataSource, ledger, { full: false, verifierKeys: [service.verifierKey()!] });
        expect(quick.issues).toEqual([]);
        console.log(`quick: ${quick.durationMs} ms`);
      } finally {
        build.remove();
      }
    } finally {
      await service.stop();
      await db.close();
    }
  });
});
