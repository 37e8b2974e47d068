/**
 * `node dist/bench/point-reads.js <database-url>`: reads against a database that
 * `BENCH_KEEP_DB=1 npm run bench:provenance` left loaded — one query audit by queryId, one inclusion
 * proof against the checkpoint, from 1 client and from 8, many requests each; then six-hour traces
 * of random agents from 1 client — so that two builds can be compared on the same data in steady
 * state (run each build's script in turn). Starts a real server process on that database.
 * BENCH_POINT_REQUESTS (4,000) requests per phase, a tenth of them traces. Writes nothing.
 */
import 'reflect-metadata';
import pg from 'pg';
import { GraphQLClient } from './lib/http.js';
import { closedLoop } from './lib/load.js';
import { agentName, POINT_QUERY, TRACE } from './lib/provenance-reads.js';
import { mulberry32 } from './lib/random.js';
import { BENCH_ADMIN_KEY, benchServerEnv, startServer } from './lib/server.js';
import { fmt } from './lib/stats.js';

const REQUESTS = Number(process.env.BENCH_POINT_REQUESTS ?? 4000);
const WARMUP = 200;

const PROOF = `query($i: SafeInt!, $n: SafeInt!) { inclusionProof(index: $i, treeSize: $n) { leafIndex treeSize leafHash hashes rootHash } }`;

async function main(): Promise<void> {
  const url = process.argv[2];
  if (!url) {
    process.stderr.write('usage: node dist/bench/point-reads.js <database-url of a kept provenance benchmark database>\n');
    process.exit(2);
  }
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  // Traces go six hours back from the newest audit, however old the database.
  const [{ audits, agents, newest }] = (await db.query(`SELECT count(*)::int AS audits, count(DISTINCT agent_id)::int AS agents, max(hlc_ms)::bigint AS newest
    FROM prov_query_audits q JOIN ledgers l ON l.id = q.ledger_id WHERE l.name = 'main'`)).rows;
  const [{ tree_size: treeSize }] = (await db.query(`SELECT max(c.tree_size)::int AS tree_size FROM checkpoints c JOIN ledgers l ON l.id = c.ledger_id WHERE l.name = 'main'`)).rows;
  const since = new Date(Number(newest) - 6 * 3600_000).toISOString();
  await db.end();
  if (!audits || !treeSize) throw new Error('no query audits or no checkpoint: load it with BENCH_KEEP_DB=1 npm run bench:provenance');

  const server = await startServer(benchServerEnv(url));
  try {
    GraphQLClient.apiKey = BENCH_ADMIN_KEY;
    const reads = {
      'point query': { query: POINT_QUERY, vars: (r: () => number) => ({ q: `q-${Math.floor(r() * audits)}` }), clientCounts: [1, 8], requests: REQUESTS },
      'inclusion proof': { query: PROOF, vars: (r: () => number) => ({ i: Math.floor(r() * treeSize), n: treeSize }), clientCounts: [1, 8], requests: REQUESTS },
      'six-hour trace': { query: TRACE, vars: (r: () => number) => ({ a: agentName(Math.floor(r() * agents)), s: since }), clientCounts: [1], requests: Math.ceil(REQUESTS / 10) },
    };
    for (const [label, read] of Object.entries(reads)) {
      for (const clients of read.clientCounts) {
        const client = new GraphQLClient(server.url, clients);
        const rand = mulberry32(42); // the same keys for every build
        for (let i = 0; i < WARMUP; i++) await client.data(read.query, read.vars(rand));
        const r = await closedLoop({
          clients,
          maxRequests: read.requests,
          call: async () => {
            const { status, text } = await client.postRaw(JSON.stringify({ query: read.query, variables: read.vars(rand) }));
            if (status !== 200 || text.includes('"errors"')) throw new Error(`${label}: HTTP ${status} ${text.slice(0, 300)}`);
            return 0;
          },
        });
        const l = r.latencyMs;
        console.log(`${label}, ${clients} client(s): ${fmt(r.requestsPerSec, 0)}/s, p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} ms, errors ${r.errors}`);
      }
    }
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
