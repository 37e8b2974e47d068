import { createRequire } from 'node:module';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config.js';
import { canonicalBytes, canonicalPayload } from '../../src/ledger/events/envelope.js';
import type { LedgerEvent } from '../../src/ledger/events/event.js';
import { envelopeOf, prepareInput } from '../../src/ledger/events/prepare.js';
import { Frontier, treeHasher, type NewNode } from '../../src/ledger/merkle/index.js';
import { buildChainproofSchema } from '../../src/server/schema.js';
import { APPEND_EVENT, APPEND_EVENTS, benchEvent } from './load.js';
import { round, summarize } from './stats.js';

const require = createRequire(import.meta.url);
// node-postgres' own parameter encoding (what it does to every bound array before sending it).
const pgUtils = require('pg/lib/utils.js') as { prepareValue(v: unknown): unknown };

/**
 * Where the server's CPU goes per appended event, measured piece by piece in this process on
 * the real code (dist/src): GraphQL (Apollo + graphql-js + type-graphql, with a stub ledger
 * that answers at once), JSON request/response handling, the ledger's input checks,
 * canonicalisation + hashing + tree update, and node-postgres' parameter encoding.
 */
export async function cpuSplit(origin: string, iterations: number) {
  const config = loadConfig({ CHAINPROOF_ORIGIN: origin });
  const hasher = treeHasher('sha256');
  const batch = Array.from({ length: 1000 }, (_, i) => benchEvent(1_000_000_000 + i));
  const body = JSON.stringify({ query: APPEND_EVENTS, variables: { inputs: batch } });

  // A realistic LedgerEvent[] for the stub to return (built the way the sequencer builds them).
  const built = sequenceCore(batch, `${origin}/main`, hasher);
  const stub = {
    append: async (_ledger: string, inputs: unknown[]) => built.events.slice(0, inputs.length),
    blockHeightOf: async () => null,
  };
  // (Tolerates the schema builder with or without options: API keys arrived while this was written.)
  const schema = await (buildChainproofSchema as (o?: { publicReads: boolean }) => ReturnType<typeof buildChainproofSchema>)({ publicReads: true });
  // As src/server/http.ts configures it (cache-control hints off since 8e91a52).
  const apollo = new ApolloServer({ schema, plugins: [ApolloServerPluginCacheControlDisabled()] });
  await apollo.start();
  const exec = async (query: string, variables: Record<string, unknown>) => {
    const r = await apollo.executeOperation({ query, variables }, { contextValue: { ledger: stub as never, principal: { kind: 'api-key', account: 'bench', role: 'admin' }, requestId: 'bench' } as never });
    if (r.body.kind !== 'single' || r.body.singleResult.errors) throw new Error(`stub execution failed: ${JSON.stringify(r.body)}`);
    return r.body.singleResult;
  };
  const result = await exec(APPEND_EVENTS, { inputs: batch });
  const single = { input: batch[0] };

  /**
   * Median CPU time (this process, user + system) of `fn`, in ms: CPU time rather than wall
   * time, so that other processes on a shared machine preempting this one do not count.
   */
  const time = async (fn: () => unknown, n = iterations, perSample = 1): Promise<number> => {
    for (let i = 0; i < Math.min(3, n); i++) await fn(); // warm-up
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const c0 = process.cpuUsage();
      for (let k = 0; k < perSample; k++) await fn();
      const c = process.cpuUsage(c0);
      ms.push((c.user + c.system) / 1000 / perSample);
    }
    return summarize(ms).p50;
  };

  const payloadTexts = batch.map((input) => canonicalPayload(input.payload));
  const perBatch = {
    httpBodyJsonParse: await time(() => JSON.parse(body)),
    graphqlExecute: await time(() => exec(APPEND_EVENTS, { inputs: batch })),
    responseJsonStringify: await time(() => JSON.stringify(result)),
    prepareInput: await time(() => {
      const now = Date.now();
      for (const input of batch) prepareInput(input, `${origin}/main`, hasher, config, now);
    }),
    canonicaliseHashTree: await time(() => sequenceCore(batch, `${origin}/main`, hasher, payloadTexts)),
    pgParameterEncoding: await time(() => encodeInsertParams(built.events, built.nodes)),
  };
  const perEventUs = Object.fromEntries(Object.entries(perBatch).map(([k, v]) => [k, round(v, 2)])) as Record<keyof typeof perBatch, number>;
  const graphqlSingleOpMs = await time(() => exec(APPEND_EVENT, single), iterations * 4, 100);

  await apollo.stop();
  const total = Object.values(perEventUs).reduce((a, b) => a + b, 0);
  return {
    note: 'CPU µs per event (user+system CPU time of this process, median over batches of 1000: ms per batch = µs per event)',
    perEventUs,
    totalPerEventUs: round(total, 1),
    impliedCeilingEventsPerSecOneCore: Math.round(1e6 / total),
    graphqlSingleAppendOperationUs: round(graphqlSingleOpMs * 1000, 1),
    canonicalEnvelopeBytes: Math.round(built.events.reduce((a, e) => a + e.canonical.length, 0) / built.events.length),
    canonicalPayloadBytes: Math.round(batch.reduce((a, e) => a + JSON.stringify(e.payload).length, 0) / batch.length),
    requestBodyBytesPer1000: body.length,
    responseBodyBytesPer1000: JSON.stringify(result).length,
  };
}

/** What the sequencer does per event on the CPU: envelope, RFC 8785 bytes, leaf hash, tree update. */
function sequenceCore(inputs: ReturnType<typeof benchEvent>[], origin: string, hasher: ReturnType<typeof treeHasher>, payloadTexts?: string[]) {
  const frontier = new Frontier(hasher);
  const nodes: NewNode[] = [];
  const events: LedgerEvent[] = [];
  let tips: string[] = [];
  const ms = Date.now();
  inputs.forEach((input, i) => {
    const hlc = { physicalMs: ms, logical: i };
    // The sequencer passes the payload text prepareInput already computed (since 8e91a52).
    const canonical = canonicalBytes(envelopeOf(input, origin, tips, hlc), payloadTexts?.[i]);
    const id = hasher.leafHash(canonical);
    const index = frontier.size;
    nodes.push(...frontier.append(id));
    const idHex = id.toString('hex');
    const parents = tips;
    tips = [idHex];
    events.push({
      ledger: 'main', origin, index, id: idHex, canonical, signature: null, type: input.type, actor: input.actor, author: null,
      resource: input.resource, subsystem: null, result: null, correlationId: null, payload: input.payload, parents: [...parents],
      hlc, idempotencyKey: null, appendedAt: new Date(),
    });
  });
  return { events, nodes };
}

/** The parameter arrays sequencer.insertEvents/insertNodes bind, run through node-postgres' encoding. */
function encodeInsertParams(events: LedgerEvent[], nodes: NewNode[]) {
  const col = <T>(f: (e: LedgerEvent) => T) => events.map(f);
  const params: unknown[] = [
    1,
    col((e) => e.index),
    col((e) => Buffer.from(e.id, 'hex')),
    col((e) => e.canonical),
    col((e) => (e.signature ? Buffer.from(e.signature, 'hex') : null)),
    col((e) => e.type),
    col((e) => e.actor),
    col((e) => e.author),
    col((e) => e.resource),
    col((e) => e.subsystem),
    col((e) => e.result),
    col((e) => e.correlationId),
    col((e) => Buffer.from(e.parents.join(''), 'hex')),
    col((e) => e.hlc.physicalMs),
    col((e) => e.hlc.logical),
    col(() => null),
    nodes.map((n) => n.level),
    nodes.map((n) => n.index),
    nodes.map((n) => n.hash),
  ];
  return params.map((p) => pgUtils.prepareValue(p));
}

/** Times every SQL statement TypeORM sends from this process, by kind (installed on the query runner prototype). */
export class SqlTimer {
  active = false;
  private readonly samples = new Map<string, number[]>();
  /** One statement of each kind as sent (text and parameters), for EXPLAIN. */
  readonly examples = new Map<string, { sql: string; params: unknown[] }>();

  install(ds: DataSource): void {
    const proto = Object.getPrototypeOf(ds.createQueryRunner()) as { query: (...a: unknown[]) => Promise<unknown> };
    const original = proto.query;
    const timer = this;
    proto.query = async function (this: unknown, ...args: unknown[]) {
      if (!timer.active) return original.apply(this, args);
      const t0 = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        const kind = classify(String(args[0]));
        timer.add(kind, performance.now() - t0);
        if (!timer.examples.has(kind)) timer.examples.set(kind, { sql: String(args[0]), params: (args[1] as unknown[]) ?? [] });
      }
    };
  }

  reset(): void {
    this.samples.clear();
    this.examples.clear();
  }

  private add(kind: string, ms: number) {
    let a = this.samples.get(kind);
    if (!a) this.samples.set(kind, (a = []));
    a.push(ms);
  }

  report() {
    const out: Record<string, { count: number; totalMs: number; meanMs: number; p50Ms: number; p99Ms: number }> = {};
    for (const [k, v] of this.samples) {
      const s = summarize(v);
      out[k] = { count: v.length, totalMs: round(v.reduce((a, b) => a + b, 0), 1), meanMs: s.mean, p50Ms: s.p50, p99Ms: s.p99 };
    }
    return out;
  }
}

function classify(sql: string): string {
  const s = sql.trim();
  if (/^(START TRANSACTION|BEGIN|SET TRANSACTION)/i.test(s)) return 'begin';
  if (/^COMMIT/i.test(s)) return 'commit';
  if (/^ROLLBACK/i.test(s)) return 'rollback';
  if (/FOR UPDATE/i.test(s)) return 'lockHead (SELECT ledger_heads FOR UPDATE)';
  if (/id = ANY\(\$2::bytea\[\]\) OR idempotency_key/i.test(s)) return 'lookUp (tips/parents/idempotency)';
  if (/^INSERT INTO events/i.test(s)) return 'insertEvents';
  if (/^INSERT INTO tree_nodes/i.test(s)) return 'insertTreeNodes';
  if (/^UPDATE ledger_heads/i.test(s)) return 'updateHead';
  if (/UNION ALL/i.test(s) && /tree_nodes/i.test(s)) return 'getNodes (events ∪ tree_nodes)';
  if (/FROM ledger_heads/i.test(s)) return 'readHead';
  if (/"checkpoints"/i.test(s)) return 'checkpoint lookup (TypeORM findOne)';
  if (/"ledgers"/i.test(s)) return 'ledgers';
  return s.slice(0, 40);
}
