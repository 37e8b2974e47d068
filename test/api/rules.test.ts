import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackend } from '../support/db.js';
import { gql, gqlOk, startServer, type ServerProcess } from '../support/server.js';
import { collect } from '../support/ws.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;
let writerKey: string;

beforeAll(async () => {
  const b = await serverBackend();
  cleanup = b.cleanup;
  server = await startServer(b.env);
  writerKey = (await gql(server.url, `mutation { createApiKey(role: "writer", name: "w") { key } }`)).data.createApiKey.key;
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const ok = <T = any>(query: string, variables?: Record<string, unknown>, key?: string | null) => gqlOk<T>(server.url, query, variables, key);
const CREATE = `mutation($i: CreateContractInput!) { createContract(input: $i) { id active trigger { eventTypes } actions { kind severity message } } }`;
const TEMPLATE = { title: 'Review the outage', votingDelay: 0, votingPeriod: 600, quorum: 0.1, threshold: 0.5, timelock: 0, actions: [{ setParameter: { ledger: 'main', name: 'checkpointInterval', value: '64' } }] };
const treeSize = async () => (await ok(`{ stats { treeSize } }`)).stats.treeSize as number;

describe('contracts over GraphQL', () => {
  it('only admins create and change contracts; a writer is FORBIDDEN and nothing is written', async () => {
    const before = await treeSize();
    const r = await gql(server.url, CREATE, { i: { name: 'n', trigger: { eventTypes: ['x'] }, condition: 'true', actions: [{ raiseAlert: { severity: 'INFO', message: 'm' } }] } }, writerKey);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await treeSize()).toBe(before);
  });

  it('refuses a condition that does not type-check with BAD_USER_INPUT and the checker\'s message', async () => {
    const before = await treeSize();
    const r = await gql(server.url, CREATE, { i: { name: 'n', trigger: { eventTypes: ['x'] }, condition: 'event.payload.n > 1 && event.actor > 3', actions: [{ raiseAlert: { severity: 'INFO', message: 'm' } }] } });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/no matching overload for '_>_' applied to \(string, int\)/);
    const n = await gql(server.url, CREATE, { i: { name: 'n', trigger: { eventTypes: ['x'] }, condition: 'true', actions: [{ openProposal: { template: { ...TEMPLATE, votingPeriod: 0 } } }] } });
    expect(n.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(n.errors?.[0]?.message).toMatch(/openProposal.template: votingPeriod/);
    expect(await treeSize()).toBe(before);
  });

  it('delivers alerts over alertRaised and lists the firing under contract(id){executions}', async () => {
    const { createContract: c } = await ok(CREATE, { i: {
      name: 'Deploy watch',
      trigger: { eventTypes: ['deploy'] },
      condition: 'event.result == "failed"',
      actions: [{ raiseAlert: { severity: 'WARNING', message: 'a deploy failed' } }],
    } });
    expect(c).toMatchObject({ active: true, trigger: { eventTypes: ['deploy'] }, actions: [{ kind: 'raiseAlert', severity: 'WARNING', message: 'a deploy failed' }] });
    const alerts = collect<any>(server.wsUrl, `subscription { alertRaised { contractId triggerId severity message cursor } }`, undefined, { authorization: writerKey });
    await alerts.connected;
    await new Promise((r) => setTimeout(r, 300)); // let the subscription register before the trigger
    await ok(`mutation { appendEvent(input: {type: "deploy", actor: "ci", result: "ok"}) { id } }`, undefined, writerKey);
    const { appendEvent: failed } = await ok(`mutation { appendEvent(input: {type: "deploy", actor: "ci", result: "failed"}) { id index } }`, undefined, writerKey);
    const [a] = await alerts.until(1);
    await alerts.close();
    expect(a.alertRaised).toMatchObject({ contractId: c.id, triggerId: failed.id, severity: 'WARNING', message: 'a deploy failed' });

    const { contract } = await ok(`query($id: String!) { contract(id: $id) { name boolCondition executions { edges { node { triggerId triggerIndex ok depth actions { kind ok } } } } } }`, { id: c.id });
    expect(contract.executions.edges.map((e: any) => e.node)).toEqual([
      { triggerId: failed.id, triggerIndex: failed.index, ok: true, depth: 1, actions: [{ kind: 'raiseAlert', ok: true }] },
    ]);
    expect(contract.boolCondition).toBe(true);

    await ok(`mutation($id: String!) { setContractActive(id: $id, active: false) { active } }`, { id: c.id });
    const { contracts } = await ok(`{ contracts(active: false) { edges { node { id } } } }`);
    expect(contracts.edges.map((e: any) => e.node.id)).toContain(c.id);
  });

  it('setParameter and openProposal actions over GraphQL: the parameter changes, the proposal opens as `rules`', async () => {
    const { createContract: c } = await ok(`mutation($i: CreateContractInput!) { createContract(input: $i) { id actions { kind ledger name valueExpr template } } }`, { i: {
      name: 'Outage response',
      trigger: { eventTypes: ['outage'] },
      condition: 'true',
      actions: [
        { setParameter: { name: 'checkpointInterval', valueExpr: 'event.payload.every' } },
        { openProposal: { template: TEMPLATE } },
      ],
    } });
    expect(c.actions).toEqual([
      { kind: 'setParameter', ledger: 'main', name: 'checkpointInterval', valueExpr: 'event.payload.every', template: null },
      { kind: 'openProposal', ledger: null, name: null, valueExpr: null, template: expect.objectContaining({ title: 'Review the outage', votingPeriod: 600, quorumPpm: 100_000 }) },
    ]);
    await ok(`mutation { appendEvent(input: {type: "outage", actor: "pager", payload: {every: 32}}) { id } }`, undefined, writerKey);
    await expect.poll(async () => (await ok(`{ proposals(first: 10) { edges { node { proposer title state } } } }`)).proposals.edges.map((e: any) => e.node), { timeout: 15_000 })
      .toContainEqual({ proposer: 'rules', title: 'Review the outage', state: 'ACTIVE' });
    const { contract } = await ok(`query($id: String!) { contract(id: $id) { executions { edges { node { ok actions { kind ok detail } } } } } }`, { id: c.id });
    expect(contract.executions.edges[0].node).toEqual({ ok: true, actions: [
      { kind: 'setParameter', ok: true, detail: { ledger: 'main', name: 'checkpointInterval', value: '32' } },
      { kind: 'openProposal', ok: true, detail: { title: 'Review the outage', actions: 1 } },
    ] });
  });

  it('clients cannot append into the rules subsystem', async () => {
    const r = await gql(server.url, `mutation { appendEvent(input: {type: "AlertRaised", actor: "m", subsystem: "rules"}) { id } }`, undefined, writerKey);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
