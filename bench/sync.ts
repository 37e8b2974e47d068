/**
 * `npm run bench:sync`: how fast a node takes another node's log. Two real server processes, a
 * database each: a source loaded with N events (1M; 100k with BENCH_QUICK=1) through appendEvents,
 * then a new, empty node whose only peer is the source. Timed from the new node's start until its
 * position in the source's log reaches N: every event pulled (pages of CHAINPROOF_SYNC_PAGE_SIZE),
 * proven into the source's signed checkpoint by a range proof, checked and appended.
 *
 * Writes bench/results/sync.json (sync-quick.json). See BENCHMARKS.md.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { noteSignerFromSeed } from '../src/ledger/note/index.js';
import { createFreshDatabase, DEFAULT_BASE_URL, dropStaleBenchDatabases, type FreshDatabase } from './lib/db.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuprofile.js';
import { GraphQLClient } from './lib/http.js';
import { APPEND_EVENTS, benchEvent, closedLoop } from './lib/load.js';
import { machineInfo } from './lib/proc.js';
import { BENCH_ADMIN_KEY, BENCH_ORIGIN, BENCH_SEED, benchServerEnv, startServer, type ServerProcess } from './lib/server.js';

const QUICK = process.env.BENCH_QUICK === '1';
const EVENTS = QUICK ? 100_000 : 1_000_000;
const BATCH = 1000;
const PAGE = process.env.BENCH_SYNC_PAGE ?? '1000';
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const log = (msg: string) => process.stderr.write(`[bench:sync] ${msg}\n`);
/** BENCH_SYNC_CPU_PROF=<dir>: V8 profiles of both servers, summarised at the end. */
const PROF = process.env.BENCH_SYNC_CPU_PROF;
const profArgs = (who: string) => (PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}/${who}`] : []);

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL ?? DEFAULT_BASE_URL;
  await dropStaleBenchDatabases(base);
  const dbs: FreshDatabase[] = [];
  const servers: ServerProcess[] = [];
  GraphQLClient.apiKey = BENCH_ADMIN_KEY;
  const results: Record<string, unknown> = { machine: machineInfo(), events: EVENTS, pageSize: Number(PAGE), startedAt: new Date().toISOString() };
  try {
    const sourceDb = await createFreshDatabase(base);
    dbs.push(sourceDb);
    // Proof of work kept cheap on the source: what is measured is the sync, not how long its miner takes to seal
    // a million events into blocks (peers are served what is mined).
    const source = await startServer({ ...benchServerEnv(sourceDb.url), CHAINPROOF_SYNC: 'false', CHAINPROOF_MIN_DIFFICULTY: '4', CHAINPROOF_INITIAL_DIFFICULTY: '4', CHAINPROOF_MAX_DIFFICULTY: '8' }, profArgs('source'));
    servers.push(source);
    const client = new GraphQLClient(source.url, 2);
    log(`loading ${EVENTS} events into the source`);
    let seq = 0;
    const load = await closedLoop({
      clients: 2,
      maxRequests: EVENTS / BATCH,
      call: async (_c, n) => {
        await client.data(APPEND_EVENTS, { inputs: Array.from({ length: BATCH }, () => benchEvent(seq++)) }, 600_000);
        if (n % 100 === 99) log(`  ${(n + 1) * BATCH} events`);
        return BATCH;
      },
    });
    results.sourceLoad = { eventsPerSec: load.eventsPerSec };
    // The source's log ends where its newest mined block does; the new node syncs up to that.
    let size = 0;
    for (;;) {
      const { syncCheckpoint } = await client.data<{ syncCheckpoint: { treeSize: number } | null }>(`{ syncCheckpoint { treeSize } }`);
      const { ledger } = await client.data<{ ledger: { treeSize: number } }>(`{ ledger { treeSize } }`);
      if (syncCheckpoint && syncCheckpoint.treeSize === ledger.treeSize) {
        size = ledger.treeSize;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    results.sourceTreeSize = size;

    const vkey = noteSignerFromSeed(BENCH_ORIGIN, Buffer.from(BENCH_SEED, 'hex')).verifierKey;
    const targetDb = await createFreshDatabase(base);
    dbs.push(targetDb);
    log(`a new node catches up on ${size} events`);
    const t0 = performance.now();
    const target = await startServer({
      ...benchServerEnv(targetDb.url),
      CHAINPROOF_ORIGIN: 'newnode.bench',
      CHAINPROOF_SIGNING_SEED: 'ab'.repeat(32),
      CHAINPROOF_PEERS: `${source.url}|${vkey}`,
      CHAINPROOF_SYNC_PAGE_SIZE: PAGE,
      CHAINPROOF_SYNC_MAX_RPS: '1000',
    }, profArgs('target'));
    servers.push(target);
    const watch = new GraphQLClient(target.url, 1);
    const progress: Array<{ s: number; position: number }> = [];
    for (;;) {
      const { syncStatus } = await watch.data<{ syncStatus: { peers: Array<{ position: number; lastError: string | null }> } }>(`{ syncStatus { peers { position lastError } } }`);
      const p = syncStatus.peers[0] ?? { position: 0, lastError: null }; // none until the sync service has started
      const s = (performance.now() - t0) / 1000;
      if (progress.length === 0 || s - progress.at(-1)!.s >= 10) {
        progress.push({ s: Math.round(s), position: p.position });
        log(`  ${Math.round(s)} s: ${p.position} events${p.lastError ? ` (last error: ${p.lastError})` : ''}`);
      }
      if (p.position >= size) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - t0) / 1000;
    results.catchUpSeconds = Math.round(seconds * 10) / 10;
    results.eventsPerSec = Math.round(size / seconds);
    results.progress = progress;
    const verify = await watch.data<{ verify: { status: string } }>(`{ verify(full: true) { status } }`, {}, 1_800_000);
    results.targetVerify = verify.verify.status;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dbs) await d.drop();
  }
  if (PROF) for (const who of ['source', 'target']) console.log(formatProfile(who, summarizeProfile(mainThreadProfile(`${PROF}/${who}`))));
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}${QUICK ? 'sync-quick' : 'sync'}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const r = results as any;
  console.log(`\nA new node catching up on ${r.sourceTreeSize} events from one peer (pages of ${PAGE}):`);
  console.log(`  ${r.catchUpSeconds} s from its start, ${r.eventsPerSec} events/s pulled, proven, checked and appended; then verify: ${r.targetVerify}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
