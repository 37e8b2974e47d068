import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

/**
 * Exactly-once firing: every `tick` mints 1 to `counter` through a contract. Servers are
 * killed mid-stream (or run side by side); in the end every tick fired once — one
 * execution per tick, and the balance equals the number of ticks.
 */
let env: Record<string, string>;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
});
afterAll(async () => cleanup?.());

const data = async (url: string, query: string, variables?: Record<string, unknown>) => {
  const r = await gql(url, query, variables);
  expect(r.errors, query).toBeUndefined();
  return r.data;
};

async function tick(type: string, urls: string[], client: number, stop: { stop: boolean }): Promise<void> {
  for (let i = 0; !stop.stop; i++) {
    try {
      await gql(urls[i % urls.length]!, `mutation($t: String!) { appendEvent(input: {type: $t, actor: "c${client}"}) { id } }`, { t: type });
    } catch {
      return; // the server died
    }
  }
}

async function firings(url: string, contractId: string): Promise<number[]> {
  const triggers: number[] = [];
  let after: string | null = null;
  for (;;) {
    const { contract }: any = await data(url, `query($id: String!, $after: String) { contract(id: $id) { executions(first: 1000, after: $after) {
      edges { node { triggerIndex ok } } pageInfo { hasNextPage endCursor } } } }`, { id: contractId, after });
    triggers.push(...contract.executions.edges.map((e: any) => e.node.triggerIndex));
    if (!contract.executions.pageInfo.hasNextPage) return triggers;
    after = contract.executions.pageInfo.endCursor;
  }
}

/** Waits until the contract has fired for every trigger in the ledger, then checks each fired once. */
async function expectExactlyOnce(url: string, contractId: string, type: string) {
  const ticks: number[] = [];
  for (let after: string | null = null; ;) {
    const { events }: any = await data(url, `query($t: [String!], $after: String) { events(first: 1000, after: $after, filter: {types: $t}) {
      edges { node { index } } pageInfo { hasNextPage endCursor } } }`, { t: [type], after });
    ticks.push(...events.edges.map((e: any) => e.node.index));
    if (!events.pageInfo.hasNextPage) break;
    after = events.pageInfo.endCursor;
  }
  expect(ticks.length).toBeGreaterThan(10);
  await expect.poll(async () => (await firings(url, contractId)).length, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(ticks.length);
  await new Promise((r) => setTimeout(r, 1_000)); // a duplicate would land after the last firing; give it the chance
  const fired = await firings(url, contractId);
  expect(fired.sort((a, b) => a - b)).toEqual(ticks);
  const { account } = await data(url, `query($a: String!) { account(id: $a) { balance } }`, { a: `${type}-counter` });
  expect(Number(account.balance)).toBe(ticks.length);
}

async function createContract(url: string, type: string): Promise<string> {
  const { createContract } = await data(url, `mutation($i: CreateContractInput!) { createContract(input: $i) { id } }`, { i: {
    name: `count ${type}`,
    trigger: { eventTypes: [type] },
    condition: `count("${type}", 3600) > 0`,
    actions: [{ mintTokens: { to: `"${type}-counter"`, amountExpr: '1', reason: type } }],
  } });
  return createContract.id;
}

describe(`rules consumer exactly once (${usingPostgres() ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  it('fires once per trigger across SIGKILL of the server mid-stream', async () => {
    let server: ServerProcess | undefined = await startServer(env);
    try {
      const id = await createContract(server.url, 'tick');
      for (let round = 0; round < 2; round++) {
        const stop = { stop: false };
        const clients = Array.from({ length: 8 }, (_, c) => tick('tick', [server!.url], c, stop));
        await new Promise((r) => setTimeout(r, 1_500));
        await server.kill('SIGKILL');
        stop.stop = true;
        await Promise.all(clients);
        server = await startServer(env);
      }
      await expectExactlyOnce(server.url, id, 'tick');
      await server.kill('SIGTERM');
      // Re-running the contract over the whole ledger gives the same firings as the crashed and restarted consumers.
      const replay = cli(['verify', '--replay'], env);
      expect(replay.stdout).toMatch(/RULES REPLAY MATCHES: [1-9]\d* firings/);
      expect(replay.code).toBe(0);
    } finally {
      await server?.kill('SIGTERM');
    }
  }, 300_000);

  it.skipIf(!usingPostgres())('fires once per trigger with two server processes consuming the same ledger', async () => {
    const a = await startServer(env);
    const b = await startServer(env);
    try {
      const id = await createContract(a.url, 'tock');
      const stop = { stop: false };
      const clients = Array.from({ length: 8 }, (_, c) => tick('tock', [a.url, b.url], c, stop));
      await new Promise((r) => setTimeout(r, 2_000));
      stop.stop = true;
      await Promise.all(clients);
      await expectExactlyOnce(b.url, id, 'tock');
    } finally {
      await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
    }
  }, 300_000);
});
