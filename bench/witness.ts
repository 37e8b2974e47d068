/**
 * `npm run bench:witness`: cosigning latency with four validators. Five real server processes,
 * a database each: a log whose CHAINPROOF_VALIDATORS are the other four, each of which witnesses
 * the log. Each round appends an event, creates a checkpoint (timed from the request), and polls
 * the checkpoint until it is FINAL (3 of 4) and until all four cosigned.
 *
 * Writes bench/results/witness.json. See BENCHMARKS.md.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { noteSignerFromSeed } from '../src/ledger/note/index.js';
import { createFreshDatabase, DEFAULT_BASE_URL, dropStaleBenchDatabases, type FreshDatabase } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { machineInfo } from './lib/proc.js';
import { BENCH_ADMIN_KEY, BENCH_SEED, benchServerEnv, startServer, type ServerProcess } from './lib/server.js';
import { fmt, summarize } from './lib/stats.js';

const ROUNDS = process.env.BENCH_QUICK === '1' ? 10 : 50;
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const log = (msg: string) => process.stderr.write(`[bench:witness] ${msg}\n`);

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL ?? DEFAULT_BASE_URL;
  await dropStaleBenchDatabases(base);
  const dbs: FreshDatabase[] = [];
  const servers: ServerProcess[] = [];
  GraphQLClient.apiKey = BENCH_ADMIN_KEY;
  const results: Record<string, unknown> = { machine: machineInfo(), rounds: ROUNDS, startedAt: new Date().toISOString() };
  try {
    const logKey = noteSignerFromSeed('bench.chainproof', Buffer.from(BENCH_SEED, 'hex')).verifierKey;
    const validators: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const db = await createFreshDatabase(base);
      dbs.push(db);
      const server = await startServer({ ...benchServerEnv(db.url), CHAINPROOF_ORIGIN: `w${i}.bench`, CHAINPROOF_SIGNING_SEED: String(i).repeat(64), CHAINPROOF_WITNESS_LOGS: logKey });
      servers.push(server);
      const key = (await new GraphQLClient(server.url, 1).data<{ ledger: { witnessKey: string } }>(`{ ledger { witnessKey } }`)).ledger.witnessKey;
      validators.push(`${server.url.replace(/\/graphql$/, '')}|${key}`);
    }
    const db = await createFreshDatabase(base);
    dbs.push(db);
    const logServer = await startServer({ ...benchServerEnv(db.url), CHAINPROOF_VALIDATORS: validators.join(','), CHAINPROOF_CHECKPOINT_INTERVAL: '1000000000' });
    servers.push(logServer);
    const client = new GraphQLClient(logServer.url, 2);

    log(`${ROUNDS} rounds: append, checkpoint, wait for cosignatures`);
    const toFinal: number[] = [];
    const toAll: number[] = [];
    const checkpointMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await client.data(`mutation { appendEvent(input: {type: "bench", actor: "w"}) { index } }`);
      const t0 = performance.now();
      const { createCheckpoint } = await client.data<{ createCheckpoint: { id: number } }>(`mutation { createCheckpoint { id } }`);
      checkpointMs.push(performance.now() - t0);
      let final = false;
      for (;;) {
        const { checkpoint } = await client.data<{ checkpoint: { id: number; finality: string; cosignatures: unknown[] } }>(`{ checkpoint { id finality cosignatures { witness } } }`);
        if (checkpoint.id === createCheckpoint.id) {
          if (!final && checkpoint.finality === 'FINAL') {
            final = true;
            toFinal.push(performance.now() - t0);
          }
          if (checkpoint.cosignatures.length === 4) {
            toAll.push(performance.now() - t0);
            break;
          }
        }
        if (performance.now() - t0 > 30_000) throw new Error('no cosignatures within 30 s');
        await new Promise((res) => setTimeout(res, 5));
      }
    }
    results.createCheckpointMs = summarize(checkpointMs);
    results.toFinalMs = summarize(toFinal);
    results.toAllFourMs = summarize(toAll);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dbs) await d.drop();
  }
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}witness.json`, `${JSON.stringify(results, null, 2)}\n`);
  const r = results as any;
  const line = (x: any) => `p50 ${fmt(x.p50)} ms, p99 ${fmt(x.p99)} ms, max ${fmt(x.max)} ms`;
  console.log(`\nCosigning with 4 validators, ${ROUNDS} checkpoints (timed from the createCheckpoint request):`);
  console.log(`  createCheckpoint answered: ${line(r.createCheckpointMs)}`);
  console.log(`  FINAL (3 of 4):            ${line(r.toFinalMs)}`);
  console.log(`  all 4 cosignatures:        ${line(r.toAllFourMs)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
