import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { cli } from '../support/cli.js';
import { serverBackend } from '../support/db.js';
import { TEST_SEED } from '../support/ledger.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

const MINER = didKeyFromPublicKey(ed25519FromSeed(Buffer.from(TEST_SEED, 'hex')).publicKey);
let server: ServerProcess;
let env: Record<string, string>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const b = await serverBackend();
  env = { ...b.env, CHAINPROOF_MINING_REWARD: '7' };
  cleanup = b.cleanup;
  server = await startServer(env);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function chain() {
  const r = await gql(server.url, `{
    blocks(first: 1000) { edges { node { height startIndex treeSize } } }
    events(first: 1000) { edges { node { id index type payload } } }
    account(id: "${MINER}") { balance }
  }`);
  expect(r.errors).toBeUndefined();
  const events = r.data.events.edges.map((e: any) => e.node);
  const rewards = events.filter((e: any) => e.type === 'TokensMinted' && /^block:/.test(e.payload.source ?? ''));
  return { blocks: r.data.blocks.edges.map((e: any) => e.node), events, rewards, balance: BigInt(r.data.account.balance) };
}

/** Polls until the ledger stops changing (blocks sealed, rewards minted, nothing more to do). */
async function settled() {
  let last = '';
  for (let i = 0; i < 100; i++) {
    await sleep(300);
    const c = await chain();
    const now = `${c.blocks.length}/${c.events.length}`;
    if (now === last) return c;
    last = now;
  }
  throw new Error('the ledger never settled');
}

describe('block rewards', () => {
  it('mint the reward of each block with activity to the miner, once, and stop when the ledger is idle', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await gql(server.url, `mutation { appendEvents(inputs: [{type: "work", actor: "a"}, {type: "work", actor: "b"}]) { index } }`);
      expect(r.errors).toBeUndefined();
      await sleep(250);
    }
    const c = await settled();
    const heights = c.rewards.map((e: any) => Number(e.payload.source.split(':')[1]));
    expect(new Set(heights).size).toBe(heights.length); // once per block
    const isReward = (index: number) => c.rewards.some((e: any) => e.index === index);
    const active = c.blocks.filter((b: any) => c.events.some((e: any) => e.index >= b.startIndex && e.index < b.treeSize && !isReward(e.index)));
    expect(heights.sort((a: number, b: number) => a - b)).toEqual(active.map((b: any) => b.height));
    expect(c.balance).toBe(7n * BigInt(heights.length));

    await server.kill('SIGTERM');
    server = await startServer(env);
    const after = await settled();
    expect(after.rewards).toHaveLength(c.rewards.length); // nothing minted twice across a restart
    expect(after.balance).toBe(c.balance);

    await server.kill('SIGTERM');
    const replay = cli(['verify', '--replay'], env);
    expect(replay.stdout).toContain('REPLAY MATCHES');
    server = await startServer(env);
  });

  it('pays nothing for blocks holding only what reward mints set off, so contracts on TokensMinted let the ledger fall quiet', async () => {
    const create = `mutation($i: CreateContractInput!) { createContract(input: $i) { id } }`;
    const alert = { raiseAlert: { severity: 'INFO', message: 'tokens minted' } };
    expect((await gql(server.url, create, { i: { name: 'mint monitor', trigger: { eventTypes: ['TokensMinted', 'work'] }, condition: 'true', actions: [alert] } })).errors).toBeUndefined();
    // Mints on every mint, its own included: chains of firings down to the depth limit.
    const echo = { mintTokens: { to: '"echo"', amountExpr: '1', reason: 'echo' } };
    expect((await gql(server.url, create, { i: { name: 'mint echo', trigger: { eventTypes: ['TokensMinted'] }, condition: 'true', actions: [echo] } })).errors).toBeUndefined();
    expect((await gql(server.url, `mutation { appendEvent(input: {type: "work", actor: "a"}) { index } }`)).errors).toBeUndefined();

    // Quiet: nothing appended for a while (the bug appended ~20 events a second for ever).
    let last = -1;
    for (let quiet = 0, polls = 0; quiet < 4; polls++) {
      if (polls === 60) throw new Error('the ledger never fell quiet');
      await sleep(300);
      const size = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize as number;
      quiet = size === last ? quiet + 1 : 0;
      last = size;
    }
    const c = await chain();
    expect(c.events).toHaveLength(last);
    // Activity is what does not lead back to reward mints alone: firings name their trigger, a contract's mint its source.
    const fromRewards = new Set<string>();
    for (const e of c.events) {
      const trigger = e.type === 'ContractExecuted' || e.type === 'AlertRaised' ? e.payload.trigger : /^contract:[0-9a-f]+:([0-9a-f]+)$/.exec(e.payload?.source ?? '')?.[1];
      if (c.rewards.some((r: any) => r.index === e.index) || (trigger !== undefined && fromRewards.has(trigger))) fromRewards.add(e.id);
    }
    // The contracts did fire on rewards, and on the mints those firings made, down to the depth limit.
    expect(c.events.some((e: any) => e.type === 'AlertRaised' && fromRewards.has(e.id))).toBe(true);
    expect(c.events.some((e: any) => e.type === 'TokensMinted' && e.payload.to === 'echo' && fromRewards.has(e.id))).toBe(true);
    expect(c.events.some((e: any) => e.type === 'ContractExecuted' && /depth limit/.test(e.payload.error ?? '') && fromRewards.has(e.id))).toBe(true);
    const active = c.blocks.filter((b: any) => c.events.some((e: any) => e.index >= b.startIndex && e.index < b.treeSize && !fromRewards.has(e.id)));
    const heights = c.rewards.map((e: any) => Number(e.payload.source.split(':')[1])).sort((a: number, b: number) => a - b);
    expect(heights).toEqual(active.map((b: any) => b.height));
    expect(c.blocks.at(-1).treeSize).toBe(last); // everything sealed, the last block judged
  });
});
