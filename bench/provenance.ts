/**
 * `npm run bench:provenance`: query provenance at SRE scale. Loads a fresh PostgreSQL database
 * with genuine, server-signed provenance events through the service's batch path (in this
 * process: the same code the server runs, each append one group-commit transaction with its
 * projections), seals them into mined blocks and a signed checkpoint, then starts a real
 * server process and measures the reads over GraphQL/HTTP on 127.0.0.1, one client at a time.
 *
 * Sizes (defaults = the issue's): BENCH_PROV_AUDITS (1,000,000), BENCH_PROV_ASSERTIONS
 * (200,000, as chains of 10 supersessions), BENCH_PROV_AGENTS (1,000); BENCH_QUICK=1 runs a
 * small version. Writes bench/results/provenance.json. See BENCHMARKS.md.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { LedgerService } from '../src/ledger/ledger-service.js';
import { loadServerKey } from '../src/ledger/server-key.js';
import { assertionHashOf, type AssertionContent } from '../src/provenance/hashing.js';
import { ProvenanceService } from '../src/provenance/service.js';
import type { QueryInput } from '../src/provenance/records.js';
import { createFreshDatabase, DEFAULT_BASE_URL, postgresInfo } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { closedLoop } from './lib/load.js';
import { agentName, GLOB_TRACE, POINT_QUERY, TIME_TRAVEL_QUERY, TRACE } from './lib/provenance-reads.js';
import { clkTck, cpuReport, cpuSnapshot, machineInfo } from './lib/proc.js';
import { BENCH_ADMIN_KEY, benchServerEnv, startServer } from './lib/server.js';
import { fmt, round, summarize, type LatencySummary } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const AUDITS = num('BENCH_PROV_AUDITS', QUICK ? 50_000 : 1_000_000);
const ASSERTIONS = num('BENCH_PROV_ASSERTIONS', QUICK ? 20_000 : 200_000);
const AGENTS = num('BENCH_PROV_AGENTS', QUICK ? 100 : 1_000);
const CHAIN = 10;
const SOURCES = Math.max(1, Math.floor(ASSERTIONS / 20));
const BATCH = 5_000;
const LOADERS = num('BENCH_PROV_LOADERS', 2);
const SAMPLES = num('BENCH_PROV_SAMPLES', QUICK ? 100 : 300);
const WARMUP = 20;
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[prov-bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const hex64 = (n: number, tag: string) => `${tag}${n.toString(16)}`.padStart(64, '0').slice(-64);
/** A deterministic pseudo-random sequence, so runs are comparable. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
const rand = rng(42);
const pick = (n: number) => Math.floor(rand() * n);
const subjectOf = (chain: number) => `svc-${String(chain % 200).padStart(3, '0')}/comp-${Math.floor(chain / 200) % 10}/key-${chain}`;

/** Runs `fn` over `items` in batches, `LOADERS` appends in flight (so preparing one overlaps another's commit). */
async function load<T>(label: string, total: number, make: (from: number, to: number) => T[], append: (batch: T[]) => Promise<unknown>) {
  const started = performance.now();
  let next = 0;
  let done = 0;
  let lastLog = started;
  const worker = async () => {
    while (next < total) {
      const from = next;
      const to = Math.min(total, from + BATCH);
      next = to;
      await append(make(from, to));
      done += to - from;
      if (performance.now() - lastLog > 15_000) {
        lastLog = performance.now();
        log(`${label}: ${fmt(done)} / ${fmt(total)} (${fmt(done / ((lastLog - started) / 1000), 0)}/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: LOADERS }, worker));
  const seconds = (performance.now() - started) / 1000;
  log(`${label}: ${fmt(total)} in ${seconds.toFixed(1)} s = ${fmt(total / seconds, 0)}/s`);
  return { count: total, seconds: round(seconds, 1), perSecond: Math.round(total / seconds) };
}

/**
 * Where the CPU of the in-process audit load went, in µs per audit: this process's main thread
 * (service, sequencer, projections; also the load's own inputs), each of its two busiest other
 * threads (the signing threads), the rest of its threads (GC helpers, mining), PostgreSQL's
 * backends of this database and its auxiliary processes, and what was left idle on the machine.
 */
function cpuPerAudit(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>, dbName: string, audits: number) {
  const report = cpuReport(a, b, dbName);
  const us = (cores: number) => round((cores * report.wallS * 1e6) / audits, 1);
  const others = [...b.server!.threads]
    .filter(([tid]) => tid !== process.pid)
    .map(([tid, t]) => (t - (a.server!.threads.get(tid) ?? 0)) / clkTck / report.wallS)
    .sort((x, y) => y - x);
  return {
    mainThread: us(report.server!.mainThread),
    busiestThreads: others.slice(0, 2).map(us),
    otherThreads: us(others.slice(2).reduce((x, y) => x + y, 0)),
    postgresBackends: us(report.postgres.benchDb),
    postgresAuxiliary: us(report.postgres.auxiliary),
    idle: us((report.machine.idlePct / 100) * report.cores),
    // cpuReport counts this process twice (as the server and as the load), so foreign load is worked out here.
    foreign: us(Math.max(0, (report.machine.busyPct / 100) * report.cores - report.server!.total - report.postgres.benchDb - report.postgres.auxiliary)),
  };
}

async function sample(client: GraphQLClient, label: string, query: string, vars: () => Record<string, unknown>, n = SAMPLES) {
  for (let i = 0; i < WARMUP; i++) await client.data(query, vars());
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ query, variables: vars() });
    const start = performance.now();
    const { status, text } = await client.postRaw(body);
    ms.push(performance.now() - start);
    if (status !== 200 || text.includes('"errors"')) throw new Error(`${label}: HTTP ${status} ${text.slice(0, 300)}`);
    bytes += text.length;
  }
  const s = summarize(ms);
  log(`${label}: p50 ${s.p50} ms, p99 ${s.p99} ms (${n} requests, ~${fmt(bytes / n / 1024, 1)} KiB each)`);
  return { ...s, responseKiB: round(bytes / n / 1024, 1) };
}

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL ?? DEFAULT_BASE_URL;
  const fresh = await createFreshDatabase(base);
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    sizes: { audits: AUDITS, assertions: ASSERTIONS, chainLength: CHAIN, sources: SOURCES, agents: AGENTS, contributionsPerAudit: 3 },
    machine: machineInfo(),
  };
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    results.postgres = await postgresInfo(fresh.url).catch(() => undefined);
    // Blocks of 10,000 events: sealing 1.2M events into 1,000-event blocks costs ~1 s of mining each (20 min).
    const env = { ...benchServerEnv(fresh.url), CHAINPROOF_MAX_BATCH: String(BATCH), CHAINPROOF_BLOCK_SIZE: '10000' };
    const config = loadConfig(env);
    const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '', dbPoolSize: 4 });
    const key = loadServerKey(config, false)!.key;
    // Blocks are mined while loading, as a server would.
    const ledger = new LedgerService(db.dataSource, config, key, pino({ level: 'silent' }));
    await ledger.start(['main', 'system']);
    const prov = new ProvenanceService(db.dataSource, ledger);

    log(`loading ${fmt(SOURCES)} sources, ${fmt(ASSERTIONS)} assertions, ${fmt(AUDITS)} query audits of ${fmt(AGENTS)} agents`);
    const load1 = await load('sources', SOURCES, (a, b) => Array.from({ length: b - a }, (_, i) => ({
      locator: `git://config/${a + i}.yaml`, contentHash: hex64(a + i, 'c0'), mediaType: 'application/yaml',
    })), (batch) => prov.recordSources('main', batch, 'loader'));

    const chains = Math.floor(ASSERTIONS / CHAIN);
    const hashes: string[] = new Array(chains * CHAIN);
    // A batch holds whole chains, link by link, so each supersession refers back within the batch.
    const load2 = await load('assertions', chains * CHAIN, (a, b) => {
      const out: AssertionContent[] = [];
      for (let k = a; k < b; k++) {
        const chain = Math.floor(k / CHAIN);
        const link = k % CHAIN;
        const content: AssertionContent = {
          subject: subjectOf(chain), predicate: 'value', value: { setting: link * 10 + (chain % 7), unit: 's' },
          lifecycle: link === CHAIN - 1 ? 'ACCEPTED' : 'DEPRECATED', confidence: 0.5 + link / 20, sourceHash: hex64(chain % SOURCES, 'c0'),
          ...(link > 0 ? { supersedes: hashes[k - 1]! } : {}),
        };
        hashes[k] = assertionHashOf(content);
        out.push(content);
      }
      return out;
    }, (batch) => prov.recordAssertions('main', batch, 'curator'));
    const assertionsEnded = Date.now();

    const auditsStarted = Date.now();
    const cpuBefore = cpuSnapshot(process.pid);
    const load3 = await load('query audits', AUDITS, (a, b) => Array.from({ length: b - a }, (_, i): QueryInput => {
      const n = a + i;
      const chain = pick(chains);
      return {
        queryId: `q-${n}`, agentId: agentName(n % AGENTS), subject: subjectOf(chain), predicate: 'value', lens: n % 3 ? 'prod' : 'staging',
        lifecycleFilter: ['ACCEPTED'], result: { setting: n % 97, unit: 's' }, resultConfidence: 0.9,
        contributingAssertions: [
          { assertionHash: hashes[chain * CHAIN + CHAIN - 1]!, weight: 0.6 },
          { assertionHash: hashes[pick(chains * CHAIN)]!, weight: 0.3 },
          { assertionHash: hashes[pick(chains * CHAIN)]!, weight: 0.1 },
        ].filter((c, j, all) => all.findIndex((d) => d.assertionHash === c.assertionHash) === j),
      };
    }), (batch) => prov.recordQueries('main', batch, 'recorder'));
    const auditsEnded = Date.now();
    results.queryAuditCpu = cpuPerAudit(cpuBefore, cpuSnapshot(process.pid), fresh.name, AUDITS);
    log(`CPU per query audit (µs): ${JSON.stringify(results.queryAuditCpu)}`);
    results.load = { sources: load1, assertions: load2, queryAudits: load3 };

    log('sealing every event into mined blocks and signing a checkpoint');
    const sealStart = performance.now();
    let cp;
    for (;;) {
      try {
        cp = await ledger.createCheckpoint('main', 'bench');
        break;
      } catch (e) {
        // Mining is behind: sealNow gives up after a minute; keep waiting.
        if ((e as { code?: string }).code !== 'UNAVAILABLE') throw e;
        log(`still mining: ${(e as Error).message}`);
      }
    }
    results.seal = { seconds: round((performance.now() - sealStart) / 1000, 1), treeSize: cp.treeSize, blockHeight: cp.blockHeight };
    log(`checkpoint at tree size ${fmt(cp.treeSize)}, block ${cp.blockHeight}`);
    const [sizes] = await db.dataSource.query(
      `SELECT pg_size_pretty(pg_database_size(current_database())) AS db,
              pg_size_pretty(pg_total_relation_size('prov_query_audits')) AS audits,
              pg_size_pretty(pg_total_relation_size('events')) AS events,
              pg_size_pretty(pg_total_relation_size('tree_nodes')) AS tree_nodes,
              pg_size_pretty(pg_total_relation_size('prov_assertions')) AS assertions`,
    );
    results.sizesOnDisk = sizes;
    await ledger.stop();
    await db.dataSource.query('VACUUM ANALYZE');
    await db.close();

    // BENCH_PROV_CPU_PROF=<dir>: the server writes a V8 CPU profile of the read phases there on exit.
    const prof = process.env.BENCH_PROV_CPU_PROF;
    server = await startServer(benchServerEnv(fresh.url), prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []);
    GraphQLClient.apiKey = BENCH_ADMIN_KEY;
    const client = new GraphQLClient(server.url, 1);
    const agent = () => agentName(pick(AGENTS));
    const reads: Record<string, LatencySummary & { responseKiB: number }> = {};
    reads.pointQuery = await sample(client, 'point query (one audit by queryId)',
      POINT_QUERY,
      () => ({ q: `q-${pick(AUDITS)}` }));
    reads.timeTravelQuery = await sample(client, 'time-travel query (an agent\'s last 10 audits as of a time)',
      TIME_TRAVEL_QUERY,
      () => ({ a: agent(), t: new Date(auditsStarted + rand() * (auditsEnded - auditsStarted)).toISOString() }));
    reads.timeTravelProvenance = await sample(client, 'time-travel provenance (an assertion as of a time during its chain\'s load)',
      `query($h: String!, $t: DateTimeISO!) { provenance(assertionHash: $h, asOf: {time: $t}) { assertion { hash supersededBy value } links { depth } } }`,
      () => ({ h: hashes[pick(chains) * CHAIN]!, t: new Date(assertionsEnded + 1).toISOString() }));
    const since = new Date(Date.now() - 6 * 3600_000).toISOString();
    reads.trace6h = await sample(client, `trace: 6 hours of one agent (~${fmt(AUDITS / AGENTS)} lines, up to 1,000)`,
      TRACE,
      () => ({ a: agent(), s: since }));
    reads.trace6hGlob = await sample(client, 'trace: 6 hours of one agent, subject glob svc-01*/**',
      GLOB_TRACE,
      () => ({ a: agent(), s: since }));
    reads.trace100WithProofs = await sample(client, 'trace: 100 lines of one agent, each with its inclusion proof and checkpoint',
      `query($a: String!, $s: DateTimeISO!) { trace(agent: $a, since: $s, first: 100) { lines { queryId eventId proof { leafIndex treeSize hashes rootHash checkpoint { treeSize note } } } } }`,
      () => ({ a: agent(), s: since }), Math.min(SAMPLES, 100));
    reads.chainDepth10 = await sample(client, 'provenance chain, depth 10, with sources, events, blocks, checkpoint',
      `query($h: String!) { provenance(assertionHash: $h) { truncated assertion { hash } links { depth assertion { hash value lifecycle supersedes } source { locator contentHash }
         event { id index actor signature blockHeight } block { height hash treeSize } } checkpoint { treeSize note } } }`,
      () => ({ h: hashes[pick(chains) * CHAIN + CHAIN - 1]! }));
    results.reads = reads;

    // Recording over HTTP: recordQueries batches of 1,000 from 2 clients.
    const writers = new GraphQLClient(server.url, 2);
    const RECORD = `mutation($i: [QueryAuditInput!]!) { recordQueries(inputs: $i) { eventIndex } }`;
    let written = 0;
    const httpStart = performance.now();
    const httpBatches = QUICK ? 10 : 40;
    let issued = 0;
    await Promise.all([0, 1].map(async () => {
      while (issued < httpBatches) {
        const b = issued++;
        const inputs = Array.from({ length: 1000 }, (_, i) => ({
          queryId: `http-${b}-${i}`, agentId: agent(), subject: subjectOf(pick(chains)), predicate: 'value', result: { b, i }, resultConfidence: 0.5,
          contributingAssertions: [{ assertionHash: hashes[pick(chains * CHAIN)]!, weight: 1 }],
        }));
        await writers.data(RECORD, { i: inputs });
        written += inputs.length;
      }
    }));
    const httpSeconds = (performance.now() - httpStart) / 1000;
    results.recordingOverHttp = { audits: written, seconds: round(httpSeconds, 1), perSecond: Math.round(written / httpSeconds), batch: 1000, clients: 2 };
    log(`recording over HTTP (recordQueries, 1,000 per call, 2 clients): ${fmt(written / httpSeconds, 0)}/s`);

    // One audit per call from 64 clients: agents that record each query as they make it.
    const singles = new GraphQLClient(server.url, 64);
    const RECORD_ONE = `mutation($i: QueryAuditInput!) { recordQuery(input: $i) { eventIndex } }`;
    const one = await closedLoop({
      clients: 64,
      durationMs: QUICK ? 5_000 : 20_000,
      call: async (c, n) => {
        await singles.data(RECORD_ONE, { i: {
          queryId: `one-${c}-${n}`, agentId: agent(), subject: subjectOf(pick(chains)), predicate: 'value', result: { c, n }, resultConfidence: 0.5,
          contributingAssertions: [{ assertionHash: hashes[pick(chains * CHAIN)]!, weight: 1 }],
        } });
        return 1;
      },
    });
    results.recordingOneByOne = { audits: one.requests, perSecond: one.requestsPerSec, latencyMs: one.latencyMs, errors: one.errors, clients: 64 };
    log(`recording over HTTP (recordQuery, one per call, 64 clients): ${fmt(one.requestsPerSec, 0)}/s, p50 ${fmt(one.latencyMs.p50)} ms, p99 ${fmt(one.latencyMs.p99)} ms, errors ${one.errors}`);
    singles.close();
    client.close();
    writers.close();
  } finally {
    await server?.stop();
    await fresh.dropUnlessKept(log);
    results.totalSeconds = round((performance.now() - t0) / 1000, 1);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(`${RESULTS}provenance${QUICK ? '-quick' : ''}.json`, `${JSON.stringify(results, null, 2)}\n`);
  }
  const r = results.reads as Record<string, LatencySummary> | undefined;
  if (r) {
    process.stdout.write(`\n| read | p50 ms | p99 ms |\n|---|---|---|\n`);
    for (const [k, v] of Object.entries(r)) process.stdout.write(`| ${k} | ${v.p50} | ${v.p99} |\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
