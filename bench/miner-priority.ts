/**
 * A/B experiment: how much the proof-of-work thread's CPU use costs the request path on this
 * 2-core machine. One server, one database; once blocks are mined continuously, the same
 * workloads run in alternating windows with the server's mining thread under each scheduling
 * policy named (`nice0`, `nice19` — what the worker sets for itself —, `idle`: SCHED_IDLE via
 * chrt), interleaved so drift and other people's load hit all alike.
 *
 *     npm run build && node dist/bench/miner-priority.js [rounds=3] [seconds=8] [policies=nice0,nice19]
 *
 * Not part of `npm run bench`; BENCHMARKS.md sums up its output (bench/HISTORY.md has it in full).
 */
import { execFileSync } from 'node:child_process';
import { createFreshDatabase, DEFAULT_BASE_URL } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { APPEND_EVENT, APPEND_EVENTS, benchEvent, closedLoop, takeSeq } from './lib/load.js';
import { clkTck, cpuReport, cpuSnapshot, threadTicks } from './lib/proc.js';
import { BENCH_ADMIN_KEY, benchServerEnv, startServer } from './lib/server.js';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const policies = (process.argv[4] ?? 'nice0,nice19').split(',');

function applyPolicy(tid: number, policy: string): void {
  if (policy === 'idle') return void execFileSync('chrt', ['--idle', '-p', '0', String(tid)]);
  execFileSync('chrt', ['--other', '-p', '0', String(tid)]);
  execFileSync('renice', ['-n', policy === 'nice0' ? '0' : '19', '-p', String(tid)]);
}

async function main(): Promise<void> {
  const fresh = await createFreshDatabase(process.env.DATABASE_URL || DEFAULT_BASE_URL);
  GraphQLClient.apiKey = BENCH_ADMIN_KEY;
  const server = await startServer(benchServerEnv(fresh.url));
  const c = new GraphQLClient(server.url, 64);
  try {
    const batched = () =>
      closedLoop({
        clients: 1,
        durationMs: seconds * 1000,
        call: async () => {
          const seq = takeSeq(1000);
          return (await c.data<{ appendEvents: unknown[] }>(APPEND_EVENTS, { inputs: Array.from({ length: 1000 }, (_, i) => benchEvent(seq + i)) })).appendEvents.length;
        },
      });
    // The floor of every read: one client, a query that touches no data.
    const typename = () =>
      closedLoop({
        clients: 1,
        durationMs: seconds * 1000,
        call: async () => {
          await c.data('{ __typename }');
          return 1;
        },
      });
    const single = () =>
      closedLoop({
        clients: 64,
        durationMs: seconds * 1000,
        call: async () => {
          await c.data(APPEND_EVENT, { input: benchEvent(takeSeq(1)) });
          return 1;
        },
      });
    // Build a backlog so the miner works all the time, and find its thread (the busiest non-main one).
    process.stderr.write('building a mining backlog...\n');
    const before = threadTicks(server.pid);
    await batched();
    await batched();
    const after = threadTicks(server.pid);
    let miner = 0;
    let most = 0;
    for (const [tid, t] of after) {
      const d = t - (before.get(tid) ?? 0);
      if (tid !== server.pid && d > most) {
        most = d;
        miner = tid;
      }
    }
    process.stderr.write(`mining thread ${miner} (${(most / clkTck / (2 * seconds)).toFixed(2)} cores while building)\n`);
    const rows: string[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const policy of r % 2 === 0 ? policies : [...policies].reverse()) {
        applyPolicy(miner, policy);
        for (const [name, run] of [['appendEvents x1000, 1 client', batched], ['appendEvent, 64 clients', single], ['{ __typename }, 1 client', typename]] as const) {
          const a = cpuSnapshot(server.pid);
          const res = await run();
          const cpu = cpuReport(a, cpuSnapshot(server.pid), fresh.name);
          rows.push(`| ${r + 1} | ${policy} | ${name} | ${res.eventsPerSec} | ${res.latencyMs.p50} | ${res.latencyMs.p99} | ${cpu.server?.mainThread} | ${cpu.server?.busiestOtherThread} | ${cpu.postgres.benchDb + cpu.postgres.auxiliary} | ${cpu.foreign} |`);
          process.stderr.write(`${rows.at(-1)}\n`);
        }
      }
    }
    process.stdout.write('| round | miner policy | workload | events/s | p50 ms | p99 ms | srv main | srv miner | postgres | foreign |\n|---|---|---|---|---|---|---|---|---|---|\n');
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    c.close();
    await server.stop();
    await fresh.drop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
