/**
 * `npm run bench:rules`: the rules consumer with 100 active contracts, in process on PostgreSQL.
 *
 * 1. Throughput: N events are appended first (none evaluated yet), then the consumer starts and
 *    settles them all: events/s through the consumer, and the CPU this process spent per event
 *    (the machine's two cores are shared with other work, so the wall-clock rate moves with the
 *    load average, which is recorded too). Each contract triggers on its own event type
 *    (`work<i>`), so every event is evaluated by the one contract indexed under its type; about
 *    one in a hundred fires. Conditions are compiled once; an evaluation (bind, condition, firing)
 *    costs ~4 µs here.
 * 2. Lag: with the consumer caught up, 200 firing events are appended one at a time; the lag is
 *    the ContractExecuted's append time minus its trigger's.
 *
 * Writes bench/results/rules.json. BENCH_QUICK=1: 20,000 events instead of 200,000.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { GovernanceService } from '../src/governance/governance-service.js';
import { LedgerService } from '../src/ledger/ledger-service.js';
import { loadServerKey } from '../src/ledger/server-key.js';
import { RulesService } from '../src/rules/rules-service.js';
import { createFreshDatabase, DEFAULT_BASE_URL, dropStaleBenchDatabases } from './lib/db.js';
import { clkTck, machineInfo, postgresProcesses } from './lib/proc.js';
import { round, summarize } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const EVENTS = QUICK ? 20_000 : 200_000;
const CONTRACTS = 100;
const LAG_SAMPLES = 200;
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench:rules ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

async function main(): Promise<void> {
  const baseUrl = process.env.DATABASE_URL ?? DEFAULT_BASE_URL;
  await dropStaleBenchDatabases(baseUrl);
  const fresh = await createFreshDatabase(baseUrl);
  const config = loadConfig({ DATABASE_URL: fresh.url, CHAINPROOF_SIGNING_SEED: '11'.repeat(32), CHAINPROOF_ORIGIN: 'bench.chainproof' });
  const db = await openDatabase(config);
  const silent = pino({ level: 'silent' });
  const ledger = new LedgerService(db.dataSource, config, loadServerKey(config, false)?.key, silent, { produceBlocks: false });
  await ledger.start(['main']);
  const gov = new GovernanceService(db.dataSource, ledger, config.governance);
  await gov.start();
  const rules = new RulesService(db.dataSource, ledger, gov);
  rules.start();
  const results: Record<string, unknown> = { machine: machineInfo(), events: EVENTS, contracts: CONTRACTS, startedAt: new Date().toISOString() };
  try {
    for (let i = 0; i < CONTRACTS; i++) {
      await rules.create('bench', {
        name: `contract ${i}`,
        trigger: { eventTypes: [`work${i}`] },
        condition: `(event.payload.n / 100) % 100 == ${i} && event.actor.startsWith("worker")`,
        actions: [{ mintTokens: { to: 'event.actor', amountExpr: '1', reason: 'work' } }],
      });
    }
    log(`appending ${EVENTS} events`);
    for (let done = 0; done < EVENTS; done += 1_000) {
      await ledger.append('main', Array.from({ length: 1_000 }, (_, j) => ({ type: `work${(done + j) % CONTRACTS}`, actor: `worker${(done + j) % 97}`, payload: { n: done + j + 1 } })));
    }
    const head = async () => (await ledger.head('main')).treeSize;
    const cursor = async () => Number((await db.dataSource.query(`SELECT position FROM rules_cursor`))[0]?.position ?? -1);
    const settle = async () => {
      for (;;) {
        // Firings grow the head while the consumer works: settled is the cursor at the head that stopped moving.
        const h = await head();
        if ((await cursor()) >= h - 1 && (await head()) === h) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    log('consumer: settling the backlog');
    const started = performance.now();
    const cpu = process.cpuUsage();
    // PostgreSQL's backends for this database (the two cores are shared: their CPU per event matters too).
    const dbTicks = () => [...postgresProcesses()].filter(([, p]) => p.cmd.includes(` ${fresh.name} `));
    const dbBefore = new Map(dbTicks().map(([pid, p]) => [pid, p.ticks]));
    await rules.startConsumer(silent);
    await settle();
    const dbMicrosPerEvent = round((dbTicks().reduce((n, [pid, p]) => n + p.ticks - (dbBefore.get(pid) ?? 0), 0) * 1e6) / clkTck / EVENTS, 2);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    // Other work shares this machine's two cores: CPU per event in this process varies far less than wall-clock rate.
    const cpuMicrosPerEvent = round((used.user + used.system) / EVENTS, 2);
    const [{ n: firings }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM rules_executions`);
    results.throughput = { eventsPerSecond: round(EVENTS / seconds, 0), seconds: round(seconds, 2), cpuMicrosPerEvent, dbMicrosPerEvent, loadAverage: loadavg().map((x) => round(x, 2)), evaluations: EVENTS, firings }; // one each: an event is shown only the contract indexed under its type
    log(`throughput: ${round(EVENTS / seconds, 0)} events/s (${firings} firings), ${cpuMicrosPerEvent} µs of this process's CPU per event, ${dbMicrosPerEvent} µs of PostgreSQL's, load ${loadavg()[0]!.toFixed(2)}`);

    log(`lag: ${LAG_SAMPLES} firing events, one at a time`);
    const triggers: number[] = [];
    for (let i = 0; i < LAG_SAMPLES; i++) {
      const [e] = await ledger.append('main', [{ type: `work${i % CONTRACTS}`, actor: 'worker-lag', payload: { n: 1_000_000 + (i % CONTRACTS) * 100 } }]);
      triggers.push(e!.index);
      await new Promise((r) => setTimeout(r, 10));
    }
    await settle();
    const rows: Array<{ lag_ms: number }> = await db.dataSource.query(
      `SELECT extract(epoch FROM (x.appended_at - t.appended_at)) * 1000 AS lag_ms
         FROM rules_executions r JOIN events x ON x.idx = r.idx AND x.ledger_id = (SELECT id FROM ledgers WHERE name = 'main')
         JOIN events t ON t.idx = r.trigger_idx AND t.ledger_id = x.ledger_id
        WHERE r.trigger_idx = ANY($1::bigint[])`,
      [triggers],
    );
    results.lagMs = summarize(rows.map((r) => Number(r.lag_ms)));
    log(`lag: ${JSON.stringify(results.lagMs)}`);
  } finally {
    await rules.stop();
    await ledger.stop();
    await db.close();
    await fresh.dropUnlessKept(log);
  }
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}rules.json`, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
