/**
 * What one group commit's INSERTs cost in PostgreSQL, and which part of the schema that cost
 * comes from: the sequencer's exact `INSERT ... SELECT FROM unnest(...)` of 1,000 events (and
 * their tree nodes), timed against copies of the `events`/`tree_nodes` tables with parts of the
 * schema removed (foreign key, secondary indexes, the unique index on the random event id).
 *
 *     npm run build && node dist/bench/insert-cost.js
 *
 * Uses its own fresh database (dropped at the end). Not part of `npm run bench`; bench/HISTORY.md
 * quotes its output.
 */
import pg from 'pg';
import { canonicalBytes } from '../src/ledger/events/envelope.js';
import { envelopeOf } from '../src/ledger/events/prepare.js';
import { Frontier, treeHasher, type NewNode } from '../src/ledger/merkle/index.js';
import { openDatabase } from '../src/db/database.js';
import { createFreshDatabase, DEFAULT_BASE_URL } from './lib/db.js';
import { benchEvent } from './lib/load.js';
import { summarize } from './lib/stats.js';

const BATCH = 1000;
const PREFILL_BATCHES = Number(process.env.PREFILL_BATCHES ?? 100);
const MEASURE_BATCHES = Number(process.env.MEASURE_BATCHES ?? 30);

const hasher = treeHasher('sha256');
const frontier = new Frontier(hasher);
let tips: string[] = [];
let seq = 0;

function nextBatch() {
  const rows: Array<{ idx: number; id: Buffer; canonical: Buffer; type: string; actor: string; resource: string; parents: Buffer; ms: number; logical: number }> = [];
  const nodes: NewNode[] = [];
  const ms = Date.now();
  for (let i = 0; i < BATCH; i++) {
    const input = benchEvent(seq++);
    const hlc = { physicalMs: ms, logical: i };
    const canonical = canonicalBytes(envelopeOf(input, 'bench.chainproof/main', tips, hlc));
    const id = hasher.leafHash(canonical);
    const idx = frontier.size;
    nodes.push(...frontier.append(id));
    rows.push({ idx, id, canonical, type: input.type, actor: input.actor, resource: input.resource, parents: Buffer.from(tips.join(''), 'hex'), ms, logical: i });
    tips = [id.toString('hex')];
  }
  return { rows, nodes };
}

const insertEventsSql = (table: string) => `INSERT INTO ${table} (ledger_id, idx, id, canonical, signature, type, actor, author, resource, subsystem, result,
       correlation_id, parents, hlc_ms, hlc_logical, idempotency_key)
     SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[],
       $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bigint[], $15::integer[], $16::text[])`;
const insertNodesSql = (table: string) =>
  `INSERT INTO ${table} (ledger_id, level, idx, hash) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])`;

function eventParams(rows: ReturnType<typeof nextBatch>['rows']) {
  const nulls = rows.map(() => null);
  return [1, rows.map((r) => r.idx), rows.map((r) => r.id), rows.map((r) => r.canonical), nulls, rows.map((r) => r.type), rows.map((r) => r.actor), nulls,
    rows.map((r) => r.resource), nulls, nulls, nulls, rows.map((r) => r.parents), rows.map((r) => r.ms), rows.map((r) => r.logical), nulls];
}

interface Variant {
  name: string;
  events: string;
  nodes: string;
  setup: string[];
}

async function main(): Promise<void> {
  const fresh = await createFreshDatabase(process.env.DATABASE_URL || DEFAULT_BASE_URL);
  try {
    // The real schema, from the migrations.
    const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '', dbPoolSize: 2 });
    await db.dataSource.query(`INSERT INTO ledgers (name, origin, hash_alg, block_size, max_block_interval_ms, min_difficulty, max_difficulty,
      initial_difficulty, target_block_ms, retarget_blocks, checkpoint_interval) VALUES ('main', 'bench.chainproof/main', 'sha256', 1000, 2000, 8, 24, 12, 1000, 16, 10000)`);
    await db.close();
    const c = new pg.Client({ connectionString: fresh.url });
    await c.connect();
    const copy = (t: string, from: string, extra: string[]) => [`CREATE TABLE ${t} (LIKE ${from} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`, ...extra];
    const variants: Variant[] = [
      { name: 'schema as migrated (events, tree_nodes)', events: 'events', nodes: 'tree_nodes', setup: [] },
      {
        name: 'same indexes, no FOREIGN KEY to ledgers',
        events: 'ev_nofk',
        nodes: 'tn_nofk',
        setup: [
          ...copy('ev_nofk', 'events', ['ALTER TABLE ev_nofk ADD PRIMARY KEY (ledger_id, idx)', 'CREATE UNIQUE INDEX ON ev_nofk (ledger_id, id)',
            'CREATE UNIQUE INDEX ON ev_nofk (ledger_id, idempotency_key) WHERE idempotency_key IS NOT NULL', 'CREATE INDEX ON ev_nofk (ledger_id, type, idx)',
            'CREATE INDEX ON ev_nofk (ledger_id, actor, idx)', 'CREATE INDEX ON ev_nofk (ledger_id, correlation_id, idx) WHERE correlation_id IS NOT NULL',
            'CREATE INDEX ON ev_nofk USING brin (hlc_ms)',
            // Partial indexes of later migrations (no entries for these events: subsystem/result are null).
            'CREATE INDEX ON ev_nofk (ledger_id, subsystem, hlc_ms) WHERE subsystem IS NOT NULL',
            'CREATE INDEX ON ev_nofk (ledger_id, lower(result), hlc_ms) WHERE result IS NOT NULL']),
          ...copy('tn_nofk', 'tree_nodes', ['ALTER TABLE tn_nofk ADD PRIMARY KEY (ledger_id, level, idx)']),
        ],
      },
      {
        name: 'no FK, no type/actor indexes',
        events: 'ev_noidx',
        nodes: 'tn_noidx',
        setup: [
          ...copy('ev_noidx', 'events', ['ALTER TABLE ev_noidx ADD PRIMARY KEY (ledger_id, idx)', 'CREATE UNIQUE INDEX ON ev_noidx (ledger_id, id)',
            'CREATE INDEX ON ev_noidx USING brin (hlc_ms)']),
          ...copy('tn_noidx', 'tree_nodes', ['ALTER TABLE tn_noidx ADD PRIMARY KEY (ledger_id, level, idx)']),
        ],
      },
      {
        name: 'no FK, primary key only',
        events: 'ev_pk',
        nodes: 'tn_pk',
        setup: [
          ...copy('ev_pk', 'events', ['ALTER TABLE ev_pk ADD PRIMARY KEY (ledger_id, idx)']),
          ...copy('tn_pk', 'tree_nodes', ['ALTER TABLE tn_pk ADD PRIMARY KEY (ledger_id, level, idx)']),
        ],
      },
      {
        name: 'no constraints or indexes at all (heap only)',
        events: 'ev_heap',
        nodes: 'tn_heap',
        setup: [...copy('ev_heap', 'events', []), ...copy('tn_heap', 'tree_nodes', [])],
      },
    ];
    const batches = Array.from({ length: PREFILL_BATCHES + MEASURE_BATCHES }, () => nextBatch());
    process.stdout.write(`${BATCH} events per INSERT (mean canonical ${Math.round(batches[0]!.rows.reduce((a, r) => a + r.canonical.length, 0) / BATCH)} bytes), ` +
      `${PREFILL_BATCHES * BATCH} rows already in each table, mean of ${MEASURE_BATCHES} commits; fsync on\n\n`);
    process.stdout.write('| variant | INSERT events ms | INSERT tree_nodes ms | COMMIT ms | total ms | µs/event |\n|---|---|---|---|---|---|\n');
    // Parsing the bound arrays alone (no table): the floor of this statement shape.
    const parseOnly: number[] = [];
    for (const v of variants) {
      for (const s of v.setup) await c.query(s);
      const ev: number[] = [];
      const tn: number[] = [];
      const cm: number[] = [];
      for (let i = 0; i < batches.length; i++) {
        const b = batches[i]!;
        await c.query('BEGIN');
        let t = performance.now();
        await c.query(insertEventsSql(v.events), eventParams(b.rows));
        const e = performance.now() - t;
        t = performance.now();
        if (b.nodes.length) await c.query(insertNodesSql(v.nodes), [1, b.nodes.map((n) => n.level), b.nodes.map((n) => n.index), b.nodes.map((n) => n.hash)]);
        const n = performance.now() - t;
        t = performance.now();
        await c.query('COMMIT');
        const k = performance.now() - t;
        if (i >= PREFILL_BATCHES) {
          ev.push(e);
          tn.push(n);
          cm.push(k);
        }
      }
      const m = (a: number[]) => summarize(a).mean;
      const total = m(ev) + m(tn) + m(cm);
      process.stdout.write(`| ${v.name} | ${m(ev).toFixed(1)} | ${m(tn).toFixed(1)} | ${m(cm).toFixed(2)} | ${total.toFixed(1)} | ${((total * 1000) / BATCH).toFixed(1)} |\n`);
    }
    for (const b of batches.slice(0, MEASURE_BATCHES)) {
      const t = performance.now();
      await c.query(
        `SELECT count(*) FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[],
          $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bigint[], $15::integer[], $16::text[]) WHERE $1::int IS NOT NULL`,
        eventParams(b.rows),
      );
      parseOnly.push(performance.now() - t);
    }
    process.stdout.write(`\nsame parameters, SELECT count(*) FROM unnest(...) only (send + parse the arrays, no table): ${summarize(parseOnly).mean.toFixed(1)} ms per 1000 events\n`);
    await c.end();
  } finally {
    await fresh.drop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
