/**
 * Appends on the embedded database (PGlite), in process: what `npm start` with no DATABASE_URL
 * gives one client appending alone, and 64 appending at once (group commit), with every commit
 * synced to disk before it is acknowledged.
 *
 *     npm run build && node dist/bench/embedded-appends.js [seconds]
 *
 * A `LedgerService` in this process (compiled `dist/src`, no block production) on a fresh data
 * directory under the system's temporary directory (removed at the end); 50 warm-up appends, 300
 * lone appends one after the other, then 64 concurrent appenders for `seconds` (default 8).
 * Not part of `npm run bench`; BENCHMARKS.md has its figures.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { LedgerService } from '../src/ledger/ledger-service.js';
import { loadServerKey } from '../src/ledger/server-key.js';
import { BENCH_ORIGIN, BENCH_SEED } from './lib/server.js';
import { fmt, summarize } from './lib/stats.js';

const SECONDS = Number(process.argv[2] ?? 8);
const CLIENTS = 64;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chainproof-bench-embedded-'));
  const config = loadConfig({ CHAINPROOF_DATA_DIR: dir, CHAINPROOF_SIGNING_SEED: BENCH_SEED, CHAINPROOF_ORIGIN: BENCH_ORIGIN });
  const db = await openDatabase(config);
  const ledger = new LedgerService(db.dataSource, config, loadServerKey(config, false)?.key, pino({ level: 'silent' }), { produceBlocks: false });
  try {
    await ledger.start(['main']);
    const event = (i: number) => [{ type: 'bench', actor: `a${i % 10}`, payload: { i } }];
    for (let i = 0; i < 50; i++) await ledger.append('main', event(i));
    const lone: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await ledger.append('main', event(i));
      lone.push(performance.now() - t);
    }
    const s = summarize(lone);
    let appended = 0;
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: CLIENTS }, async (_, k) => {
      while (Date.now() < end) {
        await ledger.append('main', event(k));
        appended++;
      }
    }));
    console.log(`embedded, lone appends: p50 ${s.p50} ms, p99 ${s.p99} ms (300)`);
    console.log(`embedded, ${CLIENTS} clients: ${fmt(appended / SECONDS, 0)} appends/s over ${SECONDS} s`);
  } finally {
    await ledger.stop();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
