import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PAGE } from '../../src/ledger/pagination.js';
import { serverBackend } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;
let writer: string;

beforeAll(async () => {
  const backend = await serverBackend();
  cleanup = backend.cleanup;
  server = await startServer(backend.env);
  const r = await gql(server.url, `mutation { createApiKey(name: "reads", role: "writer") { key } }`);
  expect(r.errors).toBeUndefined();
  writer = r.data.createApiKey.key;
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const RECORD = `mutation($i: QueryAuditInput!) { recordQuery(input: $i) { queryId time } }`;
const AUDITS = `query($f: QueryAuditFilter) { queryAudits(filter: $f, first: 100) { edges { node { queryId } } } }`;

describe('queryAudits filters over GraphQL', () => {
  it('narrow by each field of the filter, as the service does', async () => {
    const audits = [
      { queryId: 'fl-1', subject: 'svc/a', predicate: 'ttl', lens: 'prod' },
      { queryId: 'fl-2', subject: 'svc/b', predicate: 'owner', lens: 'stage' },
      { queryId: 'fl-3', subject: 'other/c', predicate: 'ttl', lens: null },
    ];
    const times: number[] = [];
    for (const a of audits) {
      // Each audit in a later millisecond than the one before, so that a time window can tell them apart.
      while (Date.now() <= (times.at(-1) ?? 0)) await new Promise((r) => setTimeout(r, 1));
      const r = await gql(server.url, RECORD, { i: { ...a, agentId: 'filter-agent', result: a.queryId, contributingAssertions: [] } }, writer);
      expect(r.errors).toBeUndefined();
      times.push(Date.parse(r.data.recordQuery.time));
    }
    const ids = async (f: Record<string, unknown>) => {
      const r = await gql(server.url, AUDITS, { f: { agent: 'filter-agent', ...f } });
      expect(r.errors).toBeUndefined();
      return r.data.queryAudits.edges.map((e: { node: { queryId: string } }) => e.node.queryId);
    };
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await ids({})).toEqual(['fl-1', 'fl-2', 'fl-3']);
    expect(await ids({ lens: 'prod' })).toEqual(['fl-1']);
    expect(await ids({ predicate: 'ttl' })).toEqual(['fl-1', 'fl-3']);
    expect(await ids({ subject: 'svc/*' })).toEqual(['fl-1', 'fl-2']);
    expect(await ids({ queryId: 'fl-2' })).toEqual(['fl-2']);
    expect(await ids({ from: iso(times[1]!) })).toEqual(['fl-2', 'fl-3']);
    expect(await ids({ to: iso(times[1]!) })).toEqual(['fl-1', 'fl-2']);
    expect(await ids({ agent: 'no-such-agent' })).toEqual([]);
  });
});

describe('line proofs of past reads in one request', () => {
  it('prove a read as of a time and one as of the same tree size each against what it saw', async () => {
    // A checkpoint signed after the audit, over exactly the leaves there were then: it exists as of that tree size, not that time.
    const q = await gql(server.url, RECORD, { i: { agentId: 'proof-agent', subject: 'p', predicate: 'p', result: 1, contributingAssertions: [] } }, writer);
    expect(q.errors).toBeUndefined();
    const time = q.data.recordQuery.time;
    while (Date.now() <= Date.parse(time)) await new Promise((r) => setTimeout(r, 1));
    const cp = await gql(server.url, `mutation { createCheckpoint { treeSize } }`);
    expect(cp.errors).toBeUndefined();
    const r = await gql(server.url, `query($time: DateTimeISO!, $n: SafeInt!) {
        byTime: trace(agent: "proof-agent", since: "2000-01-01T00:00:00Z", asOf: {time: $time}) { lines { proof { treeSize checkpoint { treeSize } } } }
        bySize: trace(agent: "proof-agent", since: "2000-01-01T00:00:00Z", asOf: {treeSize: $n}) { lines { proof { treeSize checkpoint { treeSize } } } } }`,
      { time, n: cp.data.createCheckpoint.treeSize });
    expect(r.errors).toBeUndefined();
    const { treeSize } = cp.data.createCheckpoint;
    expect(r.data.byTime.lines).toEqual([{ proof: { treeSize, checkpoint: null } }]);
    expect(r.data.bySize.lines).toEqual([{ proof: { treeSize, checkpoint: { treeSize } } }]);
  });
});

describe('trace over GraphQL', () => {
  it(`gives ${DEFAULT_PAGE} lines when no first is given, and says there were more`, async () => {
    const inputs = Array.from({ length: DEFAULT_PAGE + 1 }, (_, i) => ({ agentId: 'busy-agent', subject: 'busy', predicate: 'p', result: i, contributingAssertions: [] }));
    const r = await gql(server.url, `mutation($i: [QueryAuditInput!]!) { recordQueries(inputs: $i) { queryId } }`, { i: inputs }, writer);
    expect(r.errors).toBeUndefined();
    const t = await gql(server.url, `{ trace(agent: "busy-agent", since: "2000-01-01T00:00:00Z") { truncated lines { result } } }`);
    expect(t.errors).toBeUndefined();
    expect(t.data.trace.truncated).toBe(true);
    expect(t.data.trace.lines.map((l: { result: number }) => l.result)).toEqual(inputs.slice(0, DEFAULT_PAGE).map((i) => i.result));
  });
});
