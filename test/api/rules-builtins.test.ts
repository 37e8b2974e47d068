import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackend } from '../support/db.js';
import { gql, gqlOk, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let env: Record<string, string>;
let cleanup: () => Promise<void>;
let writerKey: string;

beforeAll(async () => {
  const b = await serverBackend();
  env = { ...b.env, CHAINPROOF_RULES_BUILTINS: 'true' };
  cleanup = b.cleanup;
  server = await startServer(env);
  writerKey = (await gql(server.url, `mutation { createApiKey(role: "writer", name: "w") { key } }`)).data.createApiKey.key;
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const ok = <T = any>(query: string, variables?: Record<string, unknown>, key?: string | null) => gqlOk<T>(server.url, query, variables, key);
const builtins = async () => {
  const { contracts } = await ok(`{ contracts(first: 100) { edges { node { id name builtin active parameters limits { maxFiringsPerActor windowSeconds } } } } }`);
  return Object.fromEntries(contracts.edges.map((e: any) => e.node).filter((c: any) => c.builtin).map((c: any) => [c.builtin, c]));
};
const append = async (inputs: Array<Record<string, unknown>>) =>
  (await ok(`mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, { i: inputs }, writerKey)).appendEvents.map((e: any) => e.index) as number[];
const balance = async (id: string) => BigInt((await ok(`query($id: String!) { account(id: $id) { balance } }`, { id })).account.balance);
const executions = async (id: string) =>
  (await ok(`query($id: String!) { contract(id: $id) { executions(first: 500) { edges { node { triggerIndex ok error } } } } }`, { id })).contract.executions.edges.map((e: any) => e.node);
/** Waits until the consumer has settled everything appended so far (the head stops moving, and every trigger is evaluated). */
const settled = async () => {
  await expect.poll(async () => {
    const before = (await ok(`{ stats { treeSize } }`)).stats.treeSize;
    await new Promise((r) => setTimeout(r, 1_200));
    return (await ok(`{ stats { treeSize } }`)).stats.treeSize === before;
  }, { timeout: 30_000, interval: 10 }).toBe(true);
};

describe('built-in contracts', () => {
  it('are installed at the first start, once: a restart neither duplicates nor resets them', async () => {
    const first = await builtins();
    expect(Object.keys(first).sort()).toEqual(['contribution-rewards', 'governance-automation', 'quality-monitor']);
    expect(first['contribution-rewards']).toMatchObject({
      active: true,
      limits: { maxFiringsPerActor: 50, windowSeconds: 86_400 },
      parameters: { rewards: { prompt_created: 10, bug_report: 15, quality_improvement: 20, peer_review: 8, test_success: 5 } },
    });
    await ok(`mutation($id: String!) { setContractActive(id: $id, active: false) { active } }`, { id: first['governance-automation'].id });

    await server.kill('SIGTERM');
    server = await startServer(env);
    const again = await builtins();
    expect(Object.fromEntries(Object.entries(again).map(([k, c]: [string, any]) => [k, [c.id, c.active]]))).toEqual({
      'contribution-rewards': [first['contribution-rewards'].id, true],
      'quality-monitor': [first['quality-monitor'].id, true],
      'governance-automation': [first['governance-automation'].id, false],
    });
    await ok(`mutation($id: String!) { setContractActive(id: $id, active: true) { active } }`, { id: first['governance-automation'].id });
  });

  it('contribution rewards: each contribution type its parameter, test runs only on success; retuned parameters apply from the next event', async () => {
    const c = (await builtins())['contribution-rewards'];
    await append(['prompt_created', 'bug_report', 'quality_improvement', 'peer_review'].map((type) => ({ type, actor: 'carol' })));
    await append([{ type: 'test_run', actor: 'carol', result: 'success' }, { type: 'test_run', actor: 'carol', result: 'failure' }]);
    await settled();
    expect(await balance('carol')).toBe(10n + 15n + 20n + 8n + 5n);

    const rewards = { prompt_created: 10, bug_report: 100, quality_improvement: 20, peer_review: 8, test_success: 5 };
    const { setContractParameters: tuned } = await ok(`mutation($id: String!, $p: JSON!) { setContractParameters(id: $id, parameters: $p) { parameters } }`,
      { id: c.id, p: { ...c.parameters, rewards } });
    expect(tuned.parameters.rewards.bug_report).toBe(100);
    await append([{ type: 'bug_report', actor: 'carol' }]);
    await settled();
    expect(await balance('carol')).toBe(58n + 100n);

    const bad = await gql(server.url, `mutation($id: String!) { setContractParameters(id: $id, parameters: "x") { id } }`, { id: c.id });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('reward farming: one reward per trigger event, and at most the per-actor cap in a window', async () => {
    const c = (await builtins())['contribution-rewards'];
    const triggers = await append(Array.from({ length: 60 }, () => ({ type: 'prompt_created', actor: 'farmer' })));
    // The cap reached first (a busy machine may take a while), then nothing more after the head stops moving.
    await expect.poll(() => balance('farmer'), { timeout: 30_000 }).toBe(50n * 10n);
    await settled();
    expect(await balance('farmer')).toBe(50n * 10n);
    const mine = (await executions(c.id)).filter((x: any) => triggers.includes(x.triggerIndex));
    expect(mine).toHaveLength(50);
    expect(new Set(mine.map((x: any) => x.triggerIndex)).size).toBe(50);
  });

  it('quality monitor: one warning when the success ratio of the last hour drops below the threshold', async () => {
    const c = (await builtins())['quality-monitor'];
    const alerts: Array<{ triggerIndex: number }> = [];
    const runs = await append(Array.from({ length: 8 }, (_, i) => ({ type: 'test_run', actor: 'qa-bot', result: i % 3 === 0 ? 'success' : 'failure' })));
    await expect.poll(async () => (await executions(c.id)).some((x: any) => runs.includes(x.triggerIndex)), { timeout: 30_000 }).toBe(true);
    await settled();
    for (const x of await executions(c.id)) if (runs.includes(x.triggerIndex)) alerts.push(x);
    expect(alerts).toEqual([expect.objectContaining({ ok: true })]); // capped at one an hour for this reporter
    const { events } = await ok(`{ events(first: 5, filter: {types: ["AlertRaised"]}) { edges { node { payload } } } }`);
    expect(events.edges.map((e: any) => e.node.payload)).toContainEqual(expect.objectContaining({ contractId: c.id, severity: 'WARNING' }));
  });

  it('governance automation: a critical event opens a proposal proposed by the rules identity', async () => {
    const [first] = await append([{ type: 'critical_incident', actor: 'pager', payload: { what: 'database down' } }, { type: 'critical_incident', actor: 'pager' }]);
    const c = (await builtins())['governance-automation'];
    await expect.poll(async () => (await executions(c.id)).some((x: any) => x.triggerIndex === first), { timeout: 30_000 }).toBe(true);
    await settled();
    const { proposals } = await ok(`{ proposals(first: 20) { edges { node { proposer title state votingType } } } }`);
    const opened = proposals.edges.map((e: any) => e.node).filter((p: any) => p.proposer === 'rules');
    expect(opened).toEqual([{ proposer: 'rules', title: 'Respond to a critical event', state: 'ACTIVE', votingType: 'WEIGHTED' }]); // the second report is capped
  });
});
