/**
 * `npm run bench:server`: what the server does for monitors and readers.
 *
 * 1. Subscribers: 1,000 WebSocket clients on `blockMined` and 100 on `auditEvent`, while
 *    appends arrive at 2,000 events/s (open loop: a 20-event `appendEvents` every 10 ms).
 *    Counts every delivery (each auditEvent subscriber must see every index exactly once, in
 *    order; each blockMined subscriber every block mined while it listened) and its latency.
 * 2. Reads: requests/s of an events page and an inclusion proof through the server (HTTP,
 *    Apollo, auth, limits) against the same resolvers executed in-process by graphql-js's
 *    `execute` — what the server's HTTP stack costs on top of the resolvers' own work.
 *
 * Writes bench/results/server-load.json. BENCH_QUICK=1 runs a short version. See BENCHMARKS.md.
 * BENCH_CPU_PROF=1 runs the server under `node --cpu-prof`, skips the reads (so the profile is
 * the subscriber phase: no prefill, subscribe, load) and prints where the main thread's time went.
 */
import { SyncService } from '../src/sync/sync-service.js';
import 'reflect-metadata';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execute, parse, type DocumentNode } from 'graphql';
import pg from 'pg';
import pino from 'pino';
import WebSocket from 'ws';
import { ApiKeyService } from '../src/auth/api-keys.js';
import { KnownDidService } from '../src/auth/known-dids.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { GovernanceService } from '../src/governance/governance-service.js';
import { CosignatureCollector } from '../src/witness/cosignatures.js';
import { ProvenanceService } from '../src/provenance/service.js';
import { RulesService } from '../src/rules/rules-service.js';
import { LedgerService } from '../src/ledger/ledger-service.js';
import { encodeCursor } from '../src/ledger/pagination.js';
import { loadServerKey } from '../src/ledger/server-key.js';
import type { RequestContext } from '../src/resolvers/context.js';
import { buildChainproofSchema } from '../src/server/schema.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuprofile.js';
import { createFreshDatabase, DEFAULT_BASE_URL, dropStaleBenchDatabases } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { APPEND_EVENTS, INCLUSION_PROOF, benchEvent, closedLoop, takeSeq, type LoadResult } from './lib/load.js';
import { clkTck, machineInfo, threadTicks } from './lib/proc.js';
import { BENCH_ADMIN_KEY, BENCH_ORIGIN, BENCH_SEED, benchServerEnv, startServer } from './lib/server.js';
import { mulberry32 } from './lib/random.js';
import { fmt, round, summarize } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PROFILE = process.env.BENCH_CPU_PROF === '1';
const PLAN = {
  ...(QUICK
    ? { blockSubscribers: 200, eventSubscribers: 20, loadMs: 5_000, readMs: 3_000, prefill: 20_000 }
    : { blockSubscribers: 1_000, eventSubscribers: 100, loadMs: 30_000, readMs: 10_000, prefill: 200_000 }),
  ...(PROFILE ? { prefill: 0 } : {}),
};
const EVENTS_PER_SEC = 2_000;
const TICK_MS = 10;
const PER_TICK = (EVENTS_PER_SEC * TICK_MS) / 1000;
const READ_CLIENTS = 16;
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench:server ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${msg}\n`);
/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the server's Date.now(). */
const wallMs = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- a minimal graphql-transport-ws client

/**
 * One subscriber on one socket, speaking graphql-transport-ws directly: a benchmark of 1,100
 * sockets in one process cannot afford a full client library's per-message work.
 */
function subscribe(wsUrl: string, query: string, onNext: (data: any, atMs: number) => void): Promise<{ ws: WebSocket; closed: () => string | null }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
    let closeReason: string | null = null;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${BENCH_ADMIN_KEY}` } })));
    ws.on('message', (raw: Buffer) => {
      const at = wallMs();
      const msg = JSON.parse(raw.toString('utf8'));
      if (msg.type === 'next') onNext(msg.payload.data, at);
      else if (msg.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        resolve({ ws, closed: () => closeReason });
      } else if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      else if (msg.type === 'error') closeReason = `error: ${JSON.stringify(msg.payload).slice(0, 200)}`;
    });
    ws.on('close', (code, reason) => {
      closeReason ??= `closed ${code} ${reason.toString()}`;
      reject(new Error(closeReason));
    });
    ws.on('error', reject);
  });
}

// ---------------------------------------------------------------- 1. subscribers under load

async function subscriberBench(url: string, db: pg.Pool, serverPid: number) {
  const wsUrl = url.replace(/^http/, 'ws');
  const client = new GraphQLClient(url, 64);
  const [{ tree_size: before }] = (await db.query(`SELECT h.tree_size FROM ledger_heads h JOIN ledgers l ON l.id = h.ledger_id WHERE l.name = 'main'`)).rows;
  const base = Number(before);

  // Per auditEvent subscriber: the next index it must see, and its latency samples.
  const expected = PLAN.loadMs / 1000 * EVENTS_PER_SEC;
  const eventSubs = Array.from({ length: PLAN.eventSubscribers }, () => ({ next: base, outOfOrder: 0, recv: new Float64Array(expected + 10_000), n: 0 }));
  const blockRecv: Array<Map<number, number>> = Array.from({ length: PLAN.blockSubscribers }, () => new Map());
  const sockets: Array<{ ws: WebSocket; closed: () => string | null }> = [];

  log(`opening ${PLAN.blockSubscribers} blockMined and ${PLAN.eventSubscribers} auditEvent subscriptions`);
  const opened = performance.now();
  for (let i = 0; i < PLAN.blockSubscribers; i += 50) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, PLAN.blockSubscribers - i) }, (_, j) =>
      subscribe(wsUrl, 'subscription { blockMined { height } }', (d, at) => blockRecv[i + j]!.set(d.blockMined.height, at))))));
  }
  for (let i = 0; i < PLAN.eventSubscribers; i++) {
    const s = eventSubs[i]!;
    sockets.push(await subscribe(wsUrl, 'subscription { auditEvent { index } }', (d, at) => {
      const index = d.auditEvent.index as number;
      if (index !== s.next) s.outOfOrder++;
      s.next = index + 1;
      if (index - base < s.recv.length) s.recv[index - base] = at;
      s.n++;
    }));
  }
  const openMs = performance.now() - opened;
  await new Promise((r) => setTimeout(r, 1_000)); // the last subscribe messages reach the server
  const liveFrom = wallMs();

  log(`appending ${EVENTS_PER_SEC} events/s for ${PLAN.loadMs / 1000} s`);
  const sent = new Float64Array(expected + 10_000);
  const acked = new Float64Array(expected + 10_000);
  const inFlight: Promise<void>[] = [];
  let appendErrors = 0;
  let appended = 0;
  // CPU of the server's main thread (its tid is its pid): a measure of the work per delivery
  // that, unlike latency, holds up when other processes compete for the cores.
  const mainThreadTicks = () => threadTicks(serverPid).get(serverPid) ?? 0;
  const ticksBefore = mainThreadTicks();
  const start = performance.now();
  for (let tick = 0; tick * TICK_MS < PLAN.loadMs; tick++) {
    const due = start + tick * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const seq = takeSeq(PER_TICK);
    const at = wallMs();
    inFlight.push(client.data<{ appendEvents: Array<{ index: number }> }>(APPEND_EVENTS, { inputs: Array.from({ length: PER_TICK }, (_, k) => benchEvent(seq + k)) })
      .then((d) => {
        const ack = wallMs();
        for (const e of d.appendEvents) {
          sent[e.index - base] = at;
          acked[e.index - base] = ack;
        }
        appended += d.appendEvents.length;
      }, () => void appendErrors++));
  }
  await Promise.all(inFlight);
  const loadMs = performance.now() - start;
  log(`appended ${appended} (${appendErrors} failed requests); waiting for deliveries to settle`);
  const last = base + appended;
  for (let waited = 0; waited < 30_000 && eventSubs.some((s) => s.next < last); waited += 100) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 3_000)); // the last block of the run is mined and delivered
  const serverCpuSeconds = (mainThreadTicks() - ticksBefore) / clkTck;

  // Blocks: every block sealed after all subscribers were listening, and when each was mined.
  const { rows: blocks } = await db.query(
    `SELECT b.height, b.timestamp_ms + b.mining_ms AS mined_ms FROM blocks b JOIN ledgers l ON l.id = b.ledger_id
      WHERE l.name = 'main' AND b.timestamp_ms >= $1 ORDER BY b.height`, [Math.ceil(liveFrom)]);
  // Mining trails the appends, so a block may have been mined just before that read, its deliveries still in flight.
  const lastHeight = Number(blocks.at(-1)?.height ?? -1);
  for (let waited = 0; waited < 10_000 && lastHeight >= 0 && blockRecv.some((r) => !r.has(lastHeight)); waited += 100) await new Promise((r) => setTimeout(r, 100));
  const closed = sockets.map((s) => s.closed()).filter((c): c is string => c !== null);
  for (const s of sockets) s.ws.close();
  client.close();

  const eventLatency: number[] = [];
  const eventLatencyFromAck: number[] = [];
  let eventDeliveries = 0;
  let eventMissing = 0;
  let eventOutOfOrder = 0;
  for (const s of eventSubs) {
    eventDeliveries += s.n;
    eventMissing += Math.max(0, appended - s.n);
    eventOutOfOrder += s.outOfOrder;
    for (let i = 0; i < appended; i++) {
      if (s.recv[i]! > 0 && sent[i]! > 0) {
        eventLatency.push(s.recv[i]! - sent[i]!);
        eventLatencyFromAck.push(s.recv[i]! - acked[i]!);
      }
    }
  }
  const blockLatency: number[] = [];
  let blockMissing = 0;
  let blockDeliveries = 0;
  for (const recv of blockRecv) {
    blockDeliveries += recv.size;
    for (const b of blocks) {
      const at = recv.get(Number(b.height));
      if (at === undefined) blockMissing++;
      else blockLatency.push(at - Number(b.mined_ms));
    }
  }
  return {
    blockSubscribers: PLAN.blockSubscribers,
    eventSubscribers: PLAN.eventSubscribers,
    openSubscribersMs: Math.round(openMs),
    targetEventsPerSec: EVENTS_PER_SEC,
    appended,
    appendErrors,
    appendedPerSec: Math.round((appended / loadMs) * 1000),
    appendLatencyMs: summarize(Array.from({ length: appended }, (_, i) => acked[i]! - sent[i]!)),
    serverMainThreadCpuSeconds: round(serverCpuSeconds, 1),
    serverCpuMsPer1000Deliveries: round((serverCpuSeconds * 1e6) / Math.max(1, eventDeliveries + blockDeliveries), 1),
    closedSockets: closed.length,
    firstClose: closed[0],
    events: {
      deliveries: eventDeliveries,
      expected: appended * PLAN.eventSubscribers,
      missing: eventMissing,
      outOfOrder: eventOutOfOrder,
      latencyFromAppendSentMs: summarize(eventLatency),
      latencyFromAppendAckMs: summarize(eventLatencyFromAck),
    },
    blocks: {
      mined: blocks.length,
      deliveries: blockDeliveries,
      expected: blocks.length * PLAN.blockSubscribers,
      missing: blockMissing,
      latencyFromMinedMs: summarize(blockLatency),
    },
  };
}

// ---------------------------------------------------------------- 2. read throughput, server vs graphql-js

const EVENTS_PAGE = `query Bench($after: String) { events(first: 50, after: $after) { edges { cursor node { id index type actor payload } } pageInfo { hasNextPage } } }`;

async function readBench(url: string, dbUrl: string, treeSize: number) {
  const rng = mulberry32(7);
  const pageVars = () => ({ after: encodeCursor('event', Math.floor(rng() * (treeSize - 60)), 'main') });
  const proofVars = () => ({ ledger: 'main', index: Math.floor(rng() * treeSize), treeSize });

  // Through the server.
  const http = new GraphQLClient(url, READ_CLIENTS);
  const overHttp = async (query: string, vars: () => Record<string, unknown>): Promise<LoadResult> => {
    await closedLoop({ clients: READ_CLIENTS, durationMs: 1_000, call: async () => (await http.data(query, vars()), 0) }); // warm-up
    return closedLoop({ clients: READ_CLIENTS, durationMs: PLAN.readMs, call: async () => (await http.data(query, vars()), 0) });
  };
  log('reads through the server: events page');
  const httpPage = await overHttp(EVENTS_PAGE, pageVars);
  log('reads through the server: inclusion proof');
  const httpProof = await overHttp(INCLUSION_PROOF, proofVars);
  http.close();

  // The same resolvers in this process: graphql-js `execute` on the server's schema, no HTTP.
  const config = loadConfig({ DATABASE_URL: dbUrl, CHAINPROOF_SIGNING_SEED: BENCH_SEED, CHAINPROOF_ORIGIN: BENCH_ORIGIN });
  const db = await openDatabase(config);
  const ledger = new LedgerService(db.dataSource, config, loadServerKey(config, false)?.key, pino({ level: 'silent' }), { produceBlocks: false });
  await ledger.start([]);
  const schema = await buildChainproofSchema({ publicReads: false });
  const governance = new GovernanceService(db.dataSource, ledger, config.governance);
  const context: RequestContext = {
    ledger,
    keys: new ApiKeyService(db.dataSource, ledger),
    dids: new KnownDidService(db.dataSource, ledger),
    governance,
    rules: new RulesService(db.dataSource, ledger, governance),
    cosignatures: new CosignatureCollector(db.dataSource, ledger, [], pino({ level: 'silent' })),
    provenance: new ProvenanceService(db.dataSource, ledger),
    sync: new SyncService(db.dataSource, ledger, { peers: [], intervalMs: 300_000, enabled: false }, pino({ level: 'silent' })),
    principal: { kind: 'api-key', account: 'bench', role: 'admin' },
    requestId: 'bench',
  };
  const inProcess = async (query: string, vars: () => Record<string, unknown>): Promise<LoadResult> => {
    const document: DocumentNode = parse(query);
    const call = async () => {
      const r = await execute({ schema, document, variableValues: vars(), contextValue: context });
      if (r.errors?.length) throw new Error(r.errors[0]!.message);
      return 0;
    };
    await closedLoop({ clients: READ_CLIENTS, durationMs: 1_000, call });
    return closedLoop({ clients: READ_CLIENTS, durationMs: PLAN.readMs, call });
  };
  log('reads in-process (graphql-js execute): events page');
  const jsPage = await inProcess(EVENTS_PAGE, pageVars);
  log('reads in-process (graphql-js execute): inclusion proof');
  const jsProof = await inProcess(INCLUSION_PROOF, proofVars);
  await ledger.stop();
  await db.close();

  const row = (server: LoadResult, js: LoadResult) => ({
    serverRps: server.requestsPerSec,
    serverLatencyMs: server.latencyMs,
    graphqlJsRps: js.requestsPerSec,
    graphqlJsLatencyMs: js.latencyMs,
    serverShare: round(server.requestsPerSec / js.requestsPerSec, 2),
    errors: server.errors + js.errors,
  });
  return { clients: READ_CLIENTS, treeSize, eventsPage: row(httpPage, jsPage), inclusionProof: row(httpProof, jsProof) };
}


// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const baseUrl = process.env.DATABASE_URL ?? DEFAULT_BASE_URL;
  await dropStaleBenchDatabases(baseUrl);
  const fresh = await createFreshDatabase(baseUrl);
  const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'chainproof-prof-')) : undefined;
  const server = await startServer(benchServerEnv(fresh.url), profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const pool = new pg.Pool({ connectionString: fresh.url, max: 2 });
  GraphQLClient.apiKey = BENCH_ADMIN_KEY;
  const results: Record<string, unknown> = { machine: machineInfo(), plan: PLAN, startedAt: new Date().toISOString() };
  try {
    log(`prefilling main with ${PLAN.prefill} events`);
    const filler = new GraphQLClient(server.url, 2);
    await closedLoop({
      clients: 2,
      maxRequests: PLAN.prefill / 1000,
      call: async () => {
        const seq = takeSeq(1000);
        await filler.data(APPEND_EVENTS, { inputs: Array.from({ length: 1000 }, (_, k) => benchEvent(seq + k)) });
        return 1000;
      },
    });
    filler.close();
    results.subscribers = await subscriberBench(server.url, pool, server.pid);
    if (profileDir) {
      await server.stop();
      const profile = mainThreadProfile(profileDir);
      process.stdout.write(formatProfile(`server during the subscriber phase (${profile})`, summarizeProfile(profile, 60), 40));
      printSubscribers(results.subscribers);
      return;
    }
    const { rows } = await pool.query(`SELECT h.tree_size FROM ledger_heads h JOIN ledgers l ON l.id = h.ledger_id WHERE l.name = 'main'`);
    results.reads = await readBench(server.url, fresh.url, Number(rows[0].tree_size));
  } finally {
    await server.stop();
    await pool.end();
    await fresh.drop();
  }
  results.totalSeconds = round((performance.now() - t0) / 1000, 1);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}server-load.json`, `${JSON.stringify(results, null, 2)}\n`);
  print(results as any);
}

const line = (label: string, x: { p50: number; p99: number; max: number }) => `  ${label}: p50 ${fmt(x.p50)} ms, p99 ${fmt(x.p99)} ms, max ${fmt(x.max)} ms`;

function print(r: { subscribers: any; reads: any }): void {
  printSubscribers(r.subscribers);
  console.log(`\nReads (${r.reads.clients} concurrent clients, ledger of ${fmt(r.reads.treeSize)} events): requests/s`);
  for (const [name, x] of [['events page (50)', r.reads.eventsPage], ['inclusion proof', r.reads.inclusionProof]] as const) {
    console.log(`  ${name}: server ${fmt(x.serverRps)} (p99 ${fmt(x.serverLatencyMs.p99)} ms), graphql-js execute ${fmt(x.graphqlJsRps)} (p99 ${fmt(x.graphqlJsLatencyMs.p99)} ms), server/graphql-js ${x.serverShare}`);
  }
}

function printSubscribers(s: any): void {
  console.log(`\nSubscribers: ${s.blockSubscribers} blockMined + ${s.eventSubscribers} auditEvent, appends ${fmt(s.appendedPerSec)} events/s (target ${s.targetEventsPerSec})`);
  console.log(`  auditEvent deliveries ${fmt(s.events.deliveries)} of ${fmt(s.events.expected)}; missing ${s.events.missing}, out of order ${s.events.outOfOrder}`);
  console.log(line('auditEvent, append sent → delivered', s.events.latencyFromAppendSentMs));
  console.log(line('auditEvent, append acknowledged → delivered', s.events.latencyFromAppendAckMs));
  console.log(`  blockMined: ${s.blocks.mined} blocks, deliveries ${fmt(s.blocks.deliveries)} of ${fmt(s.blocks.expected)}; missing ${s.blocks.missing}`);
  console.log(line('blockMined, mined → delivered', s.blocks.latencyFromMinedMs));
  console.log(`  server main thread CPU from the first append until settled: ${s.serverMainThreadCpuSeconds} s, ${s.serverCpuMsPer1000Deliveries} ms per 1,000 deliveries`);
  console.log(`  sockets closed by the server: ${s.closedSockets}${s.firstClose ? ` (${s.firstClose})` : ''}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
