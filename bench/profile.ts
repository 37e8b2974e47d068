/**
 * Where the server's main thread spends its time, per workload: runs a real server under
 * `node --cpu-prof` on a fresh database, drives one workload through GraphQL over HTTP, stops
 * the server and summarises the profile by area (GraphQL, canonicalisation, driver, ...).
 *
 *     npm run build && node dist/bench/profile.js batched|single|proof|typename|verify|verify-cli [seconds]
 *
 * PROFILE_EVENTS (default 200000) sizes the ledger for proof/verify. Not part of `npm run bench`
 * (profiling slows the server); BENCHMARKS.md sums up its output (bench/HISTORY.md has it in full).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuprofile.js';
import { createFreshDatabase, DEFAULT_BASE_URL } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { APPEND_EVENT, APPEND_EVENTS, INCLUSION_PROOF, benchEvent, closedLoop, takeSeq } from './lib/load.js';
import { BENCH_ADMIN_KEY, BIN, benchServerEnv, startServer } from './lib/server.js';

const workload = process.argv[2] ?? 'batched';
const seconds = Number(process.argv[3] ?? 10);
const events = Number(process.env.PROFILE_EVENTS ?? 200_000);

async function fill(url: string, target: number): Promise<void> {
  const c = new GraphQLClient(url, 4);
  let toIssue = target;
  await closedLoop({
    clients: 4,
    maxRequests: Math.ceil(target / 1000),
    call: async () => {
      const n = Math.min(1000, toIssue);
      toIssue -= n;
      const seq = takeSeq(n);
      const r = await c.data<{ appendEvents: unknown[] }>(APPEND_EVENTS, { inputs: Array.from({ length: n }, (_, i) => benchEvent(seq + i)) });
      return r.appendEvents.length;
    },
  });
  c.close();
}

async function main(): Promise<void> {
  const fresh = await createFreshDatabase(process.env.DATABASE_URL || DEFAULT_BASE_URL);
  const dir = mkdtempSync(join(tmpdir(), 'chainproof-prof-'));
  const env = benchServerEnv(fresh.url);
  GraphQLClient.apiKey = BENCH_ADMIN_KEY;
  try {
    if (['proof', 'verify', 'verify-cli'].includes(workload)) {
      const s = await startServer(env);
      process.stderr.write(`filling ${events} events...\n`);
      await fill(s.url, events);
      await s.stop();
    }
    if (workload === 'verify-cli') {
      const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, BIN, 'verify', '--full', '--json'], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await new Promise((r) => child.once('exit', r));
      const r = JSON.parse(out) as { eventsVerified: number; durationMs: number };
      process.stderr.write(`verify: ${r.eventsVerified} events in ${r.durationMs} ms\n`);
    } else {
      const s = await startServer(env, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      const c = new GraphQLClient(s.url, 64);
      const durationMs = seconds * 1000;
      let summary: unknown;
      if (workload === 'batched') {
        summary = await closedLoop({
          clients: 4,
          durationMs,
          call: async () => {
            const seq = takeSeq(1000);
            const r = await c.data<{ appendEvents: unknown[] }>(APPEND_EVENTS, { inputs: Array.from({ length: 1000 }, (_, i) => benchEvent(seq + i)) });
            return r.appendEvents.length;
          },
        });
      } else if (workload === 'single') {
        summary = await closedLoop({
          clients: 64,
          durationMs,
          call: async () => {
            await c.data(APPEND_EVENT, { input: benchEvent(takeSeq(1)) });
            return 1;
          },
        });
      } else if (workload === 'proof') {
        summary = await closedLoop({
          clients: 1,
          durationMs,
          call: async () => {
            await c.data(INCLUSION_PROOF, { ledger: 'main', index: Math.floor(Math.random() * events), treeSize: events });
            return 0;
          },
        });
      } else if (workload === 'typename') {
        summary = await closedLoop({
          clients: 1,
          durationMs,
          call: async () => {
            await c.postRaw('{"query":"{ __typename }"}');
            return 0;
          },
        });
      } else if (workload === 'verify') {
        summary = await c.data(`query { verify(full: true) { status eventsVerified durationMs } }`, undefined, 600_000);
      } else throw new Error(`unknown workload ${workload}`);
      c.close();
      process.stderr.write(`${JSON.stringify(summary)}\n`);
      await s.stop();
    }
    const s = summarizeProfile(mainThreadProfile(dir), 60);
    const out = join(tmpdir(), `chainproof-profile-${workload}.json`);
    writeFileSync(out, JSON.stringify(s, null, 2));
    process.stdout.write(`\n${formatProfile(workload, s)}`);
    process.stdout.write(`(summary written to ${out})\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fresh.drop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
