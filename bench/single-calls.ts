/**
 * One write per request from many clients: what a server does per request, and per commit, when
 * agents append one event or record one query audit at a time (the group commit gathers the
 * requests in flight into each transaction).
 *
 *     npm run build && node dist/bench/single-calls.js [seconds] [rounds]
 *
 * A real server process on a fresh database (dropped at the end), every default as in
 * `npm run bench`; 1,000 assertions recorded first for the audits to cite. Then, alternated for
 * `rounds` (default 2), `seconds` (default 8) each from 64 closed-loop clients: `appendEvent`,
 * and `recordQuery` citing one assertion. Per phase: requests a second, p50 / p99, requests per
 * commit (the server's `chainproof_commit_batch_events`), and CPU per request of the server's
 * main thread, the whole server process and PostgreSQL's backends of the database. Not part of
 * `npm run bench`; BENCHMARKS.md sums up its output.
 */
import { createFreshDatabase, DEFAULT_BASE_URL } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { benchEvent, closedLoop } from './lib/load.js';
import { cpuReport, cpuSnapshot } from './lib/proc.js';
import { BENCH_ADMIN_KEY, benchServerEnv, startServer } from './lib/server.js';
import { fmt } from './lib/stats.js';

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 2);
const CLIENTS = 64;

/** Commits and events so far, from the server's own histogram of events per commit. */
async function commits(url: string): Promise<{ commits: number; events: number }> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const read = (name: string) => Number(new RegExp(`^${name}\\{ledger="main"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { commits: read('chainproof_commit_batch_events_count'), events: read('chainproof_commit_batch_events_sum') };
}

async function main(): Promise<void> {
  const fresh = await createFreshDatabase(process.env.DATABASE_URL ?? DEFAULT_BASE_URL);
  const server = await startServer(benchServerEnv(fresh.url));
  const client = new GraphQLClient(server.url, CLIENTS, BENCH_ADMIN_KEY);
  try {
    const source = 'ab'.repeat(32);
    await client.data(`mutation($s: SourceInput!) { recordSource(input: $s) { contentHash } }`, { s: { locator: 'git://bench/config.yaml', contentHash: source } });
    const hashes: string[] = [];
    for (let k = 0; k < 1_000; k += 50) {
      const recorded = await Promise.all(Array.from({ length: 50 }, (_, j) => client.data<{ recordAssertion: { hash: string } }>(
        `mutation($a: AssertionInput!) { recordAssertion(input: $a) { hash } }`,
        { a: { subject: `svc/${k + j}`, predicate: 'value', value: { k: k + j }, lifecycle: 'ACCEPTED', confidence: 0.5, sourceHash: source } },
      )));
      hashes.push(...recorded.map((r) => r.recordAssertion.hash));
    }
    const phases: Record<string, (c: number, n: number) => Promise<unknown>> = {
      appendEvent: (_c, n) => client.data(`mutation($i: AppendEventInput!) { appendEvent(input: $i) { index } }`, { i: { type: 'bench.single', actor: 'bench', payload: benchEvent(n) } }),
      recordQuery: (c, n) => client.data(`mutation($i: QueryAuditInput!) { recordQuery(input: $i) { eventIndex } }`, { i: {
        queryId: `one-${Date.now()}-${n}`, agentId: `agent-${n % 100}`, subject: `svc/${n % 1_000}`, predicate: 'value', result: { c, n },
        resultConfidence: 0.5, contributingAssertions: [{ assertionHash: hashes[n % hashes.length]!, weight: 1 }],
      } }),
    };
    process.stdout.write('| phase | requests/s | p50 / p99 ms | requests per commit | µs per request: main thread / server / PostgreSQL |\n|---|---|---|---|---|\n');
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, call] of Object.entries(phases)) {
        const before = { cpu: cpuSnapshot(server.pid), ...(await commits(server.url)) };
        const load = await closedLoop({ clients: CLIENTS, durationMs: SECONDS * 1_000, call: async (c, n) => (await call(c, n), 1) });
        const cpu = cpuReport(before.cpu, cpuSnapshot(server.pid), fresh.name);
        const after = await commits(server.url);
        if (load.errors > 0) throw new Error(`${name}: ${load.errors} errors, the first: ${load.firstError}`);
        const per = (cores: number) => fmt((cores * cpu.wallS * 1e6) / load.requests, 0);
        process.stdout.write(
          `| ${name} | ${fmt(load.requestsPerSec, 0)} | ${fmt(load.latencyMs.p50)} / ${fmt(load.latencyMs.p99)} | ${fmt(load.requests / Math.max(1, after.commits - before.commits), 1)} | ` +
            `${per(cpu.server!.mainThread)} / ${per(cpu.server!.total)} / ${per(cpu.postgres.benchDb)} |\n`,
        );
      }
    }
  } finally {
    client.close();
    await server.stop();
    await fresh.drop();
  }
}

await main();
