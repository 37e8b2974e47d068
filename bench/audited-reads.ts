/**
 * `npm run bench:audit`: what the automatic operation audit costs the agents it records.
 *
 * A server with CHAINPROOF_AUDIT_AGENTS=bench-audited; two reader keys, `bench-audited` (every
 * operation recorded as an OperationAudited event) and `bench-plain` (not recorded). A point read
 * (`ledger(name: "main") { treeSize }`) from 1 and from 16 clients, closed loop, each key in turn,
 * alternating, for both settings of CHAINPROOF_AUDIT_BEFORE_ANSWER (the server restarted on the
 * same database in between). Afterwards the audits in the ledger are counted against the audited
 * requests answered: with the answer held until the audit commits, none may be missing.
 *
 * Writes bench/results/audited-reads.json. BENCH_QUICK=1 runs a short version. See BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFreshDatabase, DEFAULT_BASE_URL, dropStaleBenchDatabases } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { closedLoop, type LoadResult } from './lib/load.js';
import { machineInfo } from './lib/proc.js';
import { BENCH_ADMIN_KEY, benchServerEnv, startServer, type ServerProcess } from './lib/server.js';
import { fmt, round } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PHASE_MS = QUICK ? 2_000 : 6_000;
const WARM_UP_MS = QUICK ? 1_000 : 3_000;
const ROUNDS = QUICK ? 1 : 2;
const CLIENTS = [1, 16];
const POINT_READ = `query Bench { ledger(name: "main") { treeSize } }`;
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench:audit ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${msg}\n`);

type Key = 'plain' | 'audited';
interface Row {
  beforeAnswer: boolean;
  key: Key;
  clients: number;
  requestsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Every phase of one server: each key from each client count, alternating, ROUNDS times. */
async function phases(server: ServerProcess, keys: Record<Key, string>, beforeAnswer: boolean, answered: { audited: number }): Promise<Row[]> {
  const rows: Row[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const clients of CLIENTS) {
      for (const key of (round % 2 === 0 ? ['plain', 'audited'] : ['audited', 'plain']) as Key[]) {
        const http = new GraphQLClient(server.url, clients, keys[key]);
        const call = async () => (await http.data(POINT_READ), 0);
        const warm = await closedLoop({ clients, durationMs: 500, call });
        log(`before answer ${beforeAnswer}: ${key}, ${clients} client(s)`);
        const r: LoadResult = await closedLoop({ clients, durationMs: PHASE_MS, call });
        http.close();
        if (key === 'audited') answered.audited += warm.requests + r.requests;
        rows.push({ beforeAnswer, key, clients, requestsPerSec: r.requestsPerSec, p50: r.latencyMs.p50, p99: r.latencyMs.p99, errors: warm.errors + r.errors });
      }
    }
  }
  return rows;
}

async function countAudits(url: string): Promise<number> {
  const admin = new GraphQLClient(url, 1, BENCH_ADMIN_KEY);
  let n = 0;
  let after: string | null = null;
  for (;;) {
    const page: any = await admin.data(`query($a: String) { events(filter: {types: ["OperationAudited"]}, first: 1000, after: $a) { edges { node { index } } pageInfo { hasNextPage endCursor } } }`, { a: after });
    n += page.events.edges.length;
    if (!page.events.pageInfo.hasNextPage) break;
    after = page.events.pageInfo.endCursor;
  }
  admin.close();
  return n;
}

async function main(): Promise<void> {
  const baseUrl = process.env.DATABASE_URL ?? DEFAULT_BASE_URL;
  await dropStaleBenchDatabases(baseUrl);
  const fresh = await createFreshDatabase(baseUrl);
  const env = { ...benchServerEnv(fresh.url), CHAINPROOF_AUDIT_AGENTS: 'bench-audited' };
  const rows: Row[] = [];
  const audits: Array<{ beforeAnswer: boolean; answered: number; recorded: number }> = [];
  let server: ServerProcess | undefined;
  try {
    let keys: Record<Key, string> | undefined;
    for (const beforeAnswer of [true, false]) {
      server = await startServer({ ...env, CHAINPROOF_AUDIT_BEFORE_ANSWER: String(beforeAnswer) });
      if (!keys) {
        const admin = new GraphQLClient(server.url, 1, BENCH_ADMIN_KEY);
        const make = async (name: string) => ((await admin.data(`mutation($n: String!) { createApiKey(name: $n, role: "reader") { key } }`, { n: name })) as any).createApiKey.key as string;
        keys = { plain: await make('bench-plain'), audited: await make('bench-audited') };
        admin.close();
      }
      const before = await countAudits(server.url);
      const answered = { audited: 0 };
      // A fresh process: JIT and pools warmed on both keys before anything is measured.
      for (const key of ['plain', 'audited'] as Key[]) {
        const http = new GraphQLClient(server.url, 16, keys[key]);
        const warm = await closedLoop({ clients: 16, durationMs: WARM_UP_MS, call: async () => (await http.data(POINT_READ), 0) });
        if (key === 'audited') answered.audited += warm.requests;
        http.close();
      }
      rows.push(...(await phases(server, keys, beforeAnswer, answered)));
      // Answered first, audited after: give the last audits their commit before counting.
      if (!beforeAnswer) await new Promise((r) => setTimeout(r, 2_000));
      audits.push({ beforeAnswer, answered: answered.audited, recorded: (await countAudits(server.url)) - before });
      await server.stop();
      server = undefined;
    }
  } finally {
    await server?.stop();
    await fresh.drop();
  }
  const results = { machine: machineInfo(), plan: { phaseMs: PHASE_MS, rounds: ROUNDS, clients: CLIENTS, query: POINT_READ }, rows, audits, totalSeconds: round((performance.now() - t0) / 1000, 1) };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}audited-reads.json`, `${JSON.stringify(results, null, 2)}\n`);

  console.log(`\nPoint read, closed loop, ${PHASE_MS / 1000} s per phase, ${ROUNDS} round(s): requests/s, p50 / p99 ms`);
  for (const beforeAnswer of [true, false]) {
    console.log(`  CHAINPROOF_AUDIT_BEFORE_ANSWER=${beforeAnswer}`);
    for (const clients of CLIENTS) {
      for (const key of ['plain', 'audited'] as Key[]) {
        const mine = rows.filter((r) => r.beforeAnswer === beforeAnswer && r.clients === clients && r.key === key);
        const cells = mine.map((r) => `${fmt(r.requestsPerSec, 0)} (${fmt(r.p50)} / ${fmt(r.p99)})`).join(', ');
        console.log(`    ${key.padEnd(7)} ${String(clients).padStart(2)} client(s): ${cells}${mine.some((r) => r.errors) ? ' — errors!' : ''}`);
      }
    }
  }
  for (const a of audits) console.log(`  audits recorded / audited requests answered (before answer ${a.beforeAnswer}): ${a.recorded} / ${a.answered}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
