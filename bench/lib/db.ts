import pg from 'pg';

export const DEFAULT_BASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const PREFIX = 'cp_bench_';

export interface FreshDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
  /** Drops it, unless BENCH_KEEP_DB=1 asks to leave the loaded database for diagnosis (the next run drops it). */
  dropUnlessKept(log: (msg: string) => void): Promise<void>;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Loopback TCP, or a Unix socket (`postgresql:///postgres?host=/var/run/postgresql&user=postgres`). */
function isLocal(url: string): boolean {
  const u = new URL(url);
  if (u.hostname === '' && u.searchParams.get('host')?.startsWith('/')) return true;
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname);
}

/** A new, empty database next to `base` (named after this process, so a leftover is recognisable). */
export async function createFreshDatabase(base: string): Promise<FreshDatabase> {
  if (!isLocal(base)) throw new Error(`the benchmark only talks to a local PostgreSQL; DATABASE_URL points at ${new URL(base).hostname}`);
  const name = `${PREFIX}${process.pid}_${Date.now().toString(36)}`;
  await withClient(base, async (c) => {
    await c.query(`CREATE DATABASE ${name}`);
    // Diagnosis: BENCH_AUTO_EXPLAIN_MS=<ms> logs the plan of every statement slower than that
    // (to PostgreSQL's own log), for this database's connections only.
    const ms = Number(process.env.BENCH_AUTO_EXPLAIN_MS);
    if (ms > 0) {
      await c.query(`ALTER DATABASE ${name} SET session_preload_libraries = 'auto_explain'`);
      await c.query(`ALTER DATABASE ${name} SET auto_explain.log_min_duration = ${Math.floor(ms)}`);
      await c.query(`ALTER DATABASE ${name} SET auto_explain.log_analyze = on`);
      await c.query(`ALTER DATABASE ${name} SET auto_explain.log_buffers = on`);
    }
  });
  const url = new URL(base);
  url.pathname = `/${name}`;
  let dropped = false;
  const db: FreshDatabase = {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(base, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
    async dropUnlessKept(log) {
      if (process.env.BENCH_KEEP_DB === '1') log(`kept database ${db.url}`);
      else await db.drop();
    },
  };
  return db;
}

/** Drops databases left by earlier benchmark runs that were killed (their process no longer exists). */
export async function dropStaleBenchDatabases(base: string): Promise<string[]> {
  return withClient(base, async (c) => {
    const { rows } = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE '${PREFIX}%'`);
    const dropped: string[] = [];
    for (const { datname } of rows) {
      const m = /^cp_bench_(\d+)_[0-9a-z]+$/.exec(datname);
      if (!m) continue;
      const pid = Number(m[1]);
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) continue;
      await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      dropped.push(datname);
    }
    return dropped;
  });
}

export interface PgInfo {
  version: string;
  settings: Record<string, string>;
}

const SETTINGS = [
  'fsync',
  'synchronous_commit',
  'wal_sync_method',
  'full_page_writes',
  'commit_delay',
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'max_wal_size',
  'checkpoint_timeout',
  'max_connections',
  'wal_level',
  'jit',
];

export async function postgresInfo(url: string): Promise<PgInfo> {
  return withClient(url, async (c) => {
    const version = (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    const { rows } = await c.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, current_setting(name) AS setting, unit FROM pg_settings WHERE name = ANY($1)`,
      [SETTINGS],
    );
    const settings: Record<string, string> = {};
    for (const r of rows) settings[r.name] = r.setting;
    return { version, settings };
  });
}

export async function tableSizes(url: string): Promise<Record<string, { rows: number; totalMb: number }>> {
  return withClient(url, async (c) => {
    const out: Record<string, { rows: number; totalMb: number }> = {};
    for (const t of ['events', 'tree_nodes', 'blocks', 'checkpoints']) {
      const { rows } = await c.query<{ n: string; bytes: string }>(
        `SELECT (SELECT count(*) FROM ${t}) AS n, pg_total_relation_size('${t}') AS bytes`,
      );
      out[t] = { rows: Number(rows[0]!.n), totalMb: Math.round(Number(rows[0]!.bytes) / 1048576) };
    }
    return out;
  });
}

/**
 * Waits until no autovacuum worker has run in `url`'s database for two polls in a row (at most
 * `maxS` seconds): after a bulk load PostgreSQL vacuums and analyses the new rows for a while,
 * and reads measured meanwhile measure that. Returns the seconds waited.
 */
export async function waitForAutovacuum(url: string, maxS = 180): Promise<number> {
  const started = performance.now();
  let quiet = 0;
  await withClient(url, async (c) => {
    while (quiet < 2 && performance.now() - started < maxS * 1000) {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND datname = current_database()`,
      );
      quiet = rows[0].n === 0 ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  });
  return Math.round((performance.now() - started) / 1000);
}
