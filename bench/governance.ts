/**
 * `npm run bench:governance`: governance at scale, through a real server over HTTP.
 *
 * 1. Loads 1,000,000 token events (mintTokensBatch of 1,000 grants per call): 100,000 voter
 *    did:keys and 10,000 other holders, the rest spread over them as further mints.
 * 2. One proposal; 100,000 signed votes (one per voter did:key, relayed by one writer key,
 *    as vote-collecting tooling does), 64 concurrent clients: cast rate and latency, while a
 *    reader polls the tally every 50 ms; then the tally read latency on its own.
 * 3. Voting power at past snapshots: `account(id) { votingPower(at) }` for random accounts at
 *    random tree sizes across the 1M-event history.
 *
 * Writes bench/results/governance.json. BENCH_QUICK=1 runs a scaled-down version (100k events,
 * 10k voters). See BENCHMARKS.md.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { voteMessageBytes } from '../src/governance/vote-message.js';
import { didKeyFromPublicKey } from '../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../src/ledger/events/ed25519.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuprofile.js';
import { createFreshDatabase, DEFAULT_BASE_URL, dropStaleBenchDatabases, waitForAutovacuum } from './lib/db.js';
import { GraphQLClient } from './lib/http.js';
import { closedLoop } from './lib/load.js';
import { cpuReport, cpuSnapshot, machineInfo } from './lib/proc.js';
import { BENCH_ADMIN_KEY, benchServerEnv, startServer } from './lib/server.js';
import { mulberry32 } from './lib/random.js';
import { fmt, round, summarize } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PLAN = QUICK ? { tokenEvents: 100_000, voters: 10_000, holders: 2_000, reads: 2_000 } : { tokenEvents: 1_000_000, voters: 100_000, holders: 10_000, reads: 10_000 };
const GRANTS_PER_CALL = 1_000;
const VOTE_CLIENTS = 64;
const TALLY_POLL_MS = 50;
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
/** BENCH_GOV_CPU_PROF=<dir>: a V8 profile of the server, summarised at the end. */
const PROF = process.env.BENCH_GOV_CPU_PROF;

const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench:governance ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);


async function main(): Promise<void> {
  const baseUrl = process.env.DATABASE_URL ?? DEFAULT_BASE_URL;
  await dropStaleBenchDatabases(baseUrl);
  const fresh = await createFreshDatabase(baseUrl);
  const server = await startServer(benchServerEnv(fresh.url), PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : []);
  GraphQLClient.apiKey = BENCH_ADMIN_KEY;
  const client = new GraphQLClient(server.url, VOTE_CLIENTS + 2);
  const results: Record<string, unknown> = { machine: machineInfo(), plan: PLAN, startedAt: new Date().toISOString() };
  const rng = mulberry32(42);
  try {
    // Voters are did:keys: their votes are signed, and one writer key relays them all.
    log(`deriving ${PLAN.voters} voter keys`);
    const voters = Array.from({ length: PLAN.voters }, (_, i) => {
      const seed = Buffer.alloc(32);
      seed.writeUInt32BE(i + 1);
      const key = ed25519FromSeed(seed);
      return { key, did: didKeyFromPublicKey(key.publicKey) };
    });
    const holders = Array.from({ length: PLAN.holders }, (_, i) => `holder-${i}`);

    log(`loading ${PLAN.tokenEvents} token events`);
    const accounts = (i: number) => (i < PLAN.voters ? voters[i]!.did : holders[(i - PLAN.voters) % PLAN.holders]!);
    const calls = PLAN.tokenEvents / GRANTS_PER_CALL;
    const load = await closedLoop({
      clients: 2,
      maxRequests: calls,
      call: async (_c, n) => {
        const grants = Array.from({ length: GRANTS_PER_CALL }, (_, k) => {
          const i = n * GRANTS_PER_CALL + k;
          // Every voter and holder gets a first grant; the rest go to random accounts.
          const to = i < PLAN.voters + PLAN.holders ? accounts(i) : accounts(Math.floor(rng() * (PLAN.voters + PLAN.holders)));
          return { to, amount: String(1 + Math.floor(rng() * 1000)) };
        });
        await client.data(`mutation($g: [MintGrantInput!]!) { mintTokensBatch(grants: $g, reason: "bench") }`, { g: grants }, 600_000);
        if (n % 100 === 99) log(`  ${(n + 1) * GRANTS_PER_CALL} token events`);
        return GRANTS_PER_CALL;
      },
    });
    results.tokenLoad = { events: load.events, eventsPerSec: load.eventsPerSec, requestLatencyMs: load.latencyMs };

    const writer = (await client.data<{ createApiKey: { key: string } }>(`mutation { createApiKey(role: "governor", name: "relay") { key } }`)).createApiKey.key;
    const { ledger } = await client.data<{ ledger: { origin: string; treeSize: number } }>(`{ ledger(name: "main") { origin treeSize } }`);
    const proposal = (
      await client.data<{ createProposal: { id: string } }>(
        `mutation($i: CreateProposalInput!) { createProposal(input: $i) { id } }`,
        { i: { title: 'bench', votingDelay: 0, votingPeriod: 3600, quorum: 0.04, threshold: 0.5, timelock: 0, actions: [] } },
      )
    ).createProposal.id;

    log(`signing ${PLAN.voters} votes`);
    const votes = voters.map((v, i) => {
      const choice = i % 3 === 0 ? 'AGAINST' : i % 7 === 0 ? 'ABSTAIN' : 'FOR';
      const signature = v.key.sign(voteMessageBytes({ origin: ledger.origin, proposalId: proposal, voter: v.did, choice })).toString('hex');
      return JSON.stringify({
        query: `mutation($i: CastVoteInput!) { castVote(input: $i) { power } }`,
        variables: { i: { proposalId: proposal, choice, voter: v.did, signature } },
      });
    });

    log(`casting ${PLAN.voters} votes with ${VOTE_CLIENTS} clients while a reader polls the tally every ${TALLY_POLL_MS} ms`);
    const relay = new GraphQLClient(server.url, VOTE_CLIENTS);
    const TALLY = `query($id: String!) { proposal(id: $id) { state tally { for against abstain voters quorumReached } } }`;
    let casting = true;
    const tallyDuring: number[] = [];
    let readerErrors = 0;
    // A dashboard's poll, every TALLY_POLL_MS: reading as fast as possible would take the
    // server's CPU from the votes whose rate this measures.
    const reader = (async () => {
      while (casting) {
        const s = performance.now();
        try {
          await client.data(TALLY, { id: proposal });
          tallyDuring.push(performance.now() - s);
        } catch {
          readerErrors++; // e.g. a keep-alive socket the server closed while idle; counted, not fatal
        }
        await new Promise((r) => setTimeout(r, Math.max(0, TALLY_POLL_MS - (performance.now() - s))));
      }
    })();
    const cpuBeforeVotes = cpuSnapshot(server.child.pid);
    const saveKey = GraphQLClient.apiKey;
    GraphQLClient.apiKey = writer;
    const cast = await closedLoop({
      clients: VOTE_CLIENTS,
      maxRequests: votes.length,
      call: async (_c, n) => {
        const { status, text } = await relay.postRaw(votes[n]!);
        if (status !== 200 || text.includes('"errors"')) throw new Error(text.slice(0, 300));
        if (n % 20_000 === 19_999) log(`  ${n + 1} votes`);
        return 1;
      },
    });
    GraphQLClient.apiKey = saveKey;
    casting = false;
    await reader;
    relay.close();
    const final = await client.data<{ proposal: { tally: Record<string, unknown> } }>(TALLY, { id: proposal });
    const tallyAfter = await closedLoop({ clients: 1, maxRequests: 2_000, call: async () => (await client.data(TALLY, { id: proposal }), 0) });
    results.votes = {
      voters: PLAN.voters,
      clients: VOTE_CLIENTS,
      cast: cast.requests,
      errors: cast.errors,
      firstError: cast.firstError,
      votesPerSec: cast.requestsPerSec,
      castLatencyMs: cast.latencyMs,
      tally: final.proposal.tally,
      tallyReadDuringVotingMs: summarize(tallyDuring),
      tallyReadErrors: readerErrors,
      tallyReadAfterMs: tallyAfter.latencyMs,
      // Cores used while voting (and the tally reads after it): the server's threads, PostgreSQL, this process, anyone else.
      cpu: cpuReport(cpuBeforeVotes, cpuSnapshot(server.child.pid), fresh.name),
    };

    log(`voting power at ${PLAN.reads} random past snapshots`);
    const head = (await client.data<{ ledger: { treeSize: number } }>(`{ ledger(name: "main") { treeSize } }`)).ledger.treeSize;
    const POWER = `query($id: String!, $at: SafeInt!) { account(id: $id) { votingPower(at: $at) } }`;
    const powerReads = () => closedLoop({
      clients: 1,
      maxRequests: PLAN.reads,
      call: async () => {
        await client.data(POWER, { id: accounts(Math.floor(rng() * (PLAN.voters + PLAN.holders))), at: 1 + Math.floor(rng() * head) });
        return 0;
      },
    });
    const cpuBeforePower = cpuSnapshot(server.child.pid);
    const power = await powerReads();
    results.votingPowerAt = { treeSize: head, reads: power.requests, latencyMs: power.latencyMs, cpu: cpuReport(cpuBeforePower, cpuSnapshot(server.child.pid), fresh.name) };
    // Again once PostgreSQL has finished vacuuming what the load and the votes wrote.
    const waitedS = await waitForAutovacuum(fresh.url);
    log(`voting power again after ${waitedS} s of autovacuum`);
    const cpuBeforeSettled = cpuSnapshot(server.child.pid);
    const settled = await powerReads();
    results.votingPowerAtSettled = { waitedForAutovacuumS: waitedS, reads: settled.requests, latencyMs: settled.latencyMs, cpu: cpuReport(cpuBeforeSettled, cpuSnapshot(server.child.pid), fresh.name) };
    // The floor under both: an HTTP/GraphQL round trip that touches no data.
    const floor = await closedLoop({ clients: 1, maxRequests: PLAN.reads, call: async () => (await client.data(`{ __typename }`), 0) });
    results.typenameFloor = { reads: floor.requests, latencyMs: floor.latencyMs };
  } finally {
    client.close();
    await server.stop();
    await fresh.dropUnlessKept(log);
  }
  results.totalSeconds = round((performance.now() - t0) / 1000, 1);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}governance${QUICK ? '-quick' : ''}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const r = results as any;
  console.log(`\nToken events: ${fmt(r.tokenLoad.events)} at ${fmt(r.tokenLoad.eventsPerSec)} events/s (mintTokensBatch × ${GRANTS_PER_CALL}, 2 clients)`);
  console.log(`Votes: ${fmt(r.votes.cast)} signed votes at ${fmt(r.votes.votesPerSec)} votes/s (${VOTE_CLIENTS} clients), p50 ${fmt(r.votes.castLatencyMs.p50)} ms, p99 ${fmt(r.votes.castLatencyMs.p99)} ms, errors ${r.votes.errors}`);
  console.log(`Tally read: during voting p50 ${fmt(r.votes.tallyReadDuringVotingMs.p50)} ms, p99 ${fmt(r.votes.tallyReadDuringVotingMs.p99)} ms; after p50 ${fmt(r.votes.tallyReadAfterMs.p50)} ms, p99 ${fmt(r.votes.tallyReadAfterMs.p99)} ms`);
  console.log(`Tally: ${JSON.stringify(r.votes.tally)}`);
  if (PROF) console.log(formatProfile('server', summarizeProfile(mainThreadProfile(PROF))));
  console.log(`Voting power at a past snapshot (tree size ${fmt(r.votingPowerAt.treeSize)}): p50 ${fmt(r.votingPowerAt.latencyMs.p50)} ms, p99 ${fmt(r.votingPowerAt.latencyMs.p99)} ms over ${fmt(r.votingPowerAt.reads)} reads`);
  const cpuLine = (c: any) => `server main ${c.server?.mainThread} + mining/other ${c.server?.busiestOtherThread} cores, PostgreSQL ${c.postgres.total}, this process ${c.benchClient}, foreign ${c.foreign} (machine ${c.machine.busyPct} % busy)`;
  console.log(`  CPU while voting: ${cpuLine(r.votes.cpu)}`);
  console.log(`  CPU during the power reads: ${cpuLine(r.votingPowerAt.cpu)}; after autovacuum: ${cpuLine(r.votingPowerAtSettled.cpu)}`);
  console.log(`  again after autovacuum (${r.votingPowerAtSettled.waitedForAutovacuumS} s): p50 ${fmt(r.votingPowerAtSettled.latencyMs.p50)} ms, p99 ${fmt(r.votingPowerAtSettled.latencyMs.p99)} ms`);
  console.log(`{ __typename } round trip (no data): p50 ${fmt(r.typenameFloor.latencyMs.p50)} ms, p99 ${fmt(r.typenameFloor.latencyMs.p99)} ms`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
