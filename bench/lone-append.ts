/**
 * One append at a time, in process: the latency of a transaction no other append shares, and
 * each SQL statement it sends. What a lone client's append, or an audited operation's answer,
 * waits for at least.
 *
 *     npm run build && node dist/bench/lone-append.js [appends]
 *
 * A `LedgerService` in this process (compiled `dist/src`, no block production) on its own fresh
 * database (dropped at the end); 100 warm-up appends, then `appends` (default 500) client events
 * and as many server-signed ones, one after the other. Not part of `npm run bench`;
 * BENCHMARKS.md sums up its output (bench/HISTORY.md has it in full).
 */
import 'reflect-metadata';
import pino from 'pino';
import type { QueryRunner } from 'typeorm';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { LedgerService } from '../src/ledger/ledger-service.js';
import { loadServerKey } from '../src/ledger/server-key.js';
import { createFreshDatabase, DEFAULT_BASE_URL } from './lib/db.js';
import { BENCH_ORIGIN, BENCH_SEED } from './lib/server.js';
import { fmt, summarize } from './lib/stats.js';

const APPENDS = Number(process.argv[2] ?? 500);
const WARM_UP = 100;

async function main(): Promise<void> {
  const fresh = await createFreshDatabase(process.env.DATABASE_URL ?? DEFAULT_BASE_URL);
  const config = loadConfig({ DATABASE_URL: fresh.url, CHAINPROOF_SIGNING_SEED: BENCH_SEED, CHAINPROOF_ORIGIN: BENCH_ORIGIN });
  const db = await openDatabase(config);
  const ledger = new LedgerService(db.dataSource, config, loadServerKey(config, false)?.key, pino({ level: 'silent' }), { produceBlocks: false });
  try {
    await ledger.start(['main']);
    const statements = new Map<string, number[]>();
    const create = db.dataSource.createQueryRunner.bind(db.dataSource);
    db.dataSource.createQueryRunner = (...args: Parameters<typeof create>): QueryRunner => {
      const runner = create(...args);
      const query = runner.query.bind(runner) as (...a: unknown[]) => Promise<unknown>;
      runner.query = (async (sql: string, ...rest: unknown[]) => {
        const t = performance.now();
        try {
          return await query(sql, ...rest);
        } finally {
          const key = sql.trim().replace(/\s+/g, ' ').slice(0, 48);
          (statements.get(key) ?? statements.set(key, []).get(key)!).push(performance.now() - t);
        }
      }) as QueryRunner['query'];
      return runner;
    };
    for (const asServer of [false, true]) {
      const latencies: number[] = [];
      for (let i = 0; i < WARM_UP + APPENDS; i++) {
        const t = performance.now();
        await ledger.append('main', [{ type: 'lone', actor: 'bench', payload: { i } }], { asServer });
        if (i >= WARM_UP) latencies.push(performance.now() - t);
      }
      const s = summarize(latencies);
      console.log(`${asServer ? 'server-signed' : 'client event '}: p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms (${APPENDS} appends)`);
    }
    console.log('SQL statements (all appends, warm-up included): count, p50 ms');
    for (const [sql, times] of statements) console.log(`  ${sql.padEnd(50)} ${String(times.length).padStart(5)}  ${fmt(summarize(times).p50)}`);
  } finally {
    await ledger.stop();
    await db.close();
    await fresh.drop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
