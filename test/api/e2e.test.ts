import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { verifyNote, parseCheckpoint } from '../../src/ledger/note/index.js';
import { verifyInclusion, verifyConsistency } from '../../src/ledger/merkle/index.js';
import { serverBackend } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;
let ws: Client;

beforeAll(async () => {
  const backend = await serverBackend();
  cleanup = backend.cleanup;
  server = await startServer(backend.env);
  ws = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
});

afterAll(async () => {
  await ws?.dispose();
  await server?.kill('SIGTERM');
  await cleanup?.();
});

/** Collects the first `n` results of a subscription. */
function take<T>(query: string, n: number, variables?: Record<string, unknown>): { ready: Promise<void>; done: Promise<T[]> } {
  const got: T[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const done = new Promise<T[]>((resolve, reject) => {
    const stop = ws.subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) reject(new Error(JSON.stringify(v.errors)));
          got.push(v.data as T);
          if (got.length === n) {
            stop();
            resolve(got);
          }
        },
        error: reject,
        complete: () => resolve(got),
      },
    );
  });
  // graphql-ws has no "subscribed" ack; a round trip on the same socket after subscribing orders it.
  void new Promise((r) => setTimeout(r, 300)).then(markReady);
  return { ready, done };
}

describe('GraphQL over HTTP and WebSocket', () => {
  it('appends, streams auditEvent/blockMined/checkpointCreated, and serves proofs that verify offline', async () => {
    const events = take<{ auditEvent: { index: number; type: string; id: string } }>(
      `subscription { auditEvent(filter: { types: ["deploy"] }) { index type id } }`,
      3,
    );
    const BLOCK = 'height cursor hash previousHash eventsRoot startIndex treeSize treeRoot timestamp difficulty nonce miningMs eventCount';
    const blocks = take<{ blockMined: { height: number; treeSize: number; hash: string; difficulty: number } }>(
      `subscription { blockMined { ${BLOCK} } }`,
      1,
    );
    const checkpoints = take<{ checkpointCreated: { treeSize: number; note: string } }>(
      `subscription { checkpointCreated { treeSize note } }`,
      1,
    );
    await Promise.all([events.ready, blocks.ready, checkpoints.ready]);

    const one = await gql(server.url, `mutation { appendEvent(input: {type: "deploy", actor: "bot", payload: {v: 1}}) { index id canonical } }`);
    expect(one.errors).toBeUndefined();
    expect(one.data.appendEvent.index).toBe(0);
    const many = await gql(
      server.url,
      `mutation($inputs: [AppendEventInput!]!) { appendEvents(inputs: $inputs) { index type } }`,
      { inputs: [{ type: 'noise', actor: 'x' }, { type: 'deploy', actor: 'bot' }, { type: 'deploy', actor: 'bot', result: 'failure' }] },
    );
    expect(many.data.appendEvents.map((e: { index: number }) => e.index)).toEqual([1, 2, 3]);

    const streamed = await events.done;
    expect(streamed.map((s) => s.auditEvent.index)).toEqual([0, 2, 3]);
    expect(streamed[0]!.auditEvent.id).toBe(one.data.appendEvent.id);

    const cp = await gql(server.url, `mutation { createCheckpoint(name: "e2e", tags: ["a", "b"]) { treeSize rootHash blockHeight name tags note } }`);
    expect(cp.errors).toBeUndefined();
    expect(cp.data.createCheckpoint).toMatchObject({ treeSize: 4, name: 'e2e', tags: ['a', 'b'] });

    const mined = await blocks.done;
    expect(mined[0]!.blockMined.height).toBe(0);
    expect(mined[0]!.blockMined.hash.startsWith('0')).toBe(true); // ≥ 1 leading zero bit at difficulty ≥ 1
    // Live, the block is what a read of the stored block gives.
    const stored = await gql(server.url, `{ blocks(first: 1) { edges { node { ${BLOCK} } } } }`);
    expect(mined[0]!.blockMined).toEqual(stored.data.blocks.edges[0].node);
    const created = await checkpoints.done;
    expect(created[0]!.checkpointCreated.treeSize).toBeGreaterThan(0);

    const info = await gql(server.url, `{ ledger { name origin treeSize rootHash verifierKey } }`);
    const { verifierKey, origin } = info.data.ledger;
    expect(origin).toBe('test.chainproof/main');
    const note: string = cp.data.createCheckpoint.note;
    const opened = verifyNote(note, [verifierKey]);
    const body = parseCheckpoint(opened.text);
    expect(body.origin).toBe(origin);
    expect(body.treeSize).toBe(4);
    expect(body.rootHash.toString('hex')).toBe(cp.data.createCheckpoint.rootHash);
    // One changed byte and the note no longer verifies.
    expect(() => verifyNote(note.replace('\n4\n', '\n5\n'), [verifierKey])).toThrow();

    const proof = await gql(server.url, `{ inclusionProof(index: 2) { leafIndex treeSize leafHash hashes rootHash checkpoint { treeSize } } }`);
    const p = proof.data.inclusionProof;
    expect(p.checkpoint.treeSize).toBe(4);
    expect(p.rootHash).toBe(body.rootHash.toString('hex'));
    const hex = (h: string) => Buffer.from(h, 'hex');
    expect(verifyInclusion('sha256', p.leafIndex, p.treeSize, hex(p.leafHash), p.hashes.map(hex), hex(p.rootHash))).toBe(true);

    await gql(server.url, `mutation { appendEvent(input: {type: "later", actor: "bot"}) { index } }`);
    const cons = await gql(server.url, `{ consistencyProof(fromSize: 4) { fromSize toSize hashes fromRoot toRoot } }`);
    const c = cons.data.consistencyProof;
    expect(c.toSize).toBe(5);
    expect(c.fromRoot).toBe(p.rootHash);
    expect(verifyConsistency('sha256', 4, 5, hex(c.fromRoot), hex(c.toRoot), c.hashes.map(hex))).toBe(true);

    const ev = await gql(server.url, `{ events(filter: {types: ["deploy"], result: "failure"}, first: 10) { edges { cursor node { index blockHeight hlc { physicalMs logical } } } pageInfo { hasNextPage } } }`);
    expect(ev.data.events.edges.map((e: { node: { index: number } }) => e.node.index)).toEqual([3]);
    // Event 3 is the last one the checkpoint sealed, so it sits in the checkpoint's block.
    expect(ev.data.events.edges[0].node.blockHeight).toBe(cp.data.createCheckpoint.blockHeight);

    const verify = await gql(server.url, `{ verify(full: true) { status eventsVerified issues { kind } } }`);
    expect(verify.data.verify).toMatchObject({ status: 'VALID', eventsVerified: 5, issues: [] });
  });

  it('gives subscription errors the same codes as HTTP ones', async () => {
    const error = await new Promise<unknown>((resolve) => {
      ws.subscribe(
        { query: `subscription { auditEvent(ledger: "nope") { index } }` },
        { next: (v) => resolve(v.errors), error: resolve, complete: () => resolve(undefined) },
      );
    });
    expect(error).toMatchObject([{ extensions: { code: 'UNKNOWN_LEDGER' } }]);
  });

  it('pages events as a Relay connection', async () => {
    await gql(server.url, `mutation($inputs: [AppendEventInput!]!) { appendEvents(inputs: $inputs, ledger: "main") { index } }`, {
      inputs: Array.from({ length: 7 }, (_, i) => ({ type: 'page', actor: `p${i}` })),
    });
    const seen: number[] = [];
    let after: string | null = null;
    for (;;) {
      const r: any = await gql(server.url, `query($after: String) { events(filter: {types: ["page"]}, first: 3, after: $after) { edges { cursor node { actor } } pageInfo { hasNextPage endCursor } } }`, { after });
      seen.push(...r.data.events.edges.map((e: { node: { actor: string } }) => Number(e.node.actor.slice(1))));
      if (!r.data.events.pageInfo.hasNextPage) break;
      after = r.data.events.pageInfo.endCursor;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const last = await gql(server.url, `{ events(filter: {types: ["page"]}, last: 2) { edges { node { actor } } pageInfo { hasPreviousPage } } }`);
    expect(last.data.events.edges.map((e: { node: { actor: string } }) => e.node.actor)).toEqual(['p5', 'p6']);
    expect(last.data.events.pageInfo.hasPreviousPage).toBe(true);
  });

  it('answers analytics queries over GraphQL', async () => {
    await gql(server.url, `mutation { appendEvent(input: {type: "job", actor: "cron", subsystem: "etl", result: "error", correlationId: "run-7"}) { index } }`);
    const r = await gql(server.url, `{
      activitySummary(since: "2020-01-01T00:00:00Z") { total bySubsystem { key count } }
      failureSummary(since: "2020-01-01T00:00:00Z") { type result count }
      subsystemGaps(quietFor: 3600) { subsystem }
      replay(correlationId: "run-7") { edges { node { type } } }
      stats { status uniqueAuthors }
    }`);
    expect(r.errors).toBeUndefined();
    expect(r.data.activitySummary.bySubsystem).toEqual([{ key: 'etl', count: 1 }]);
    expect(r.data.failureSummary).toEqual(expect.arrayContaining([{ type: 'job', result: 'error', count: 1 }, { type: 'deploy', result: 'failure', count: 1 }]));
    expect(r.data.subsystemGaps).toEqual([]);
    expect(r.data.replay.edges).toEqual([{ node: { type: 'job' } }]);
    expect(r.data.stats.status).toBe('OK');
  });

  it('answers bad input with extensions.code and changes nothing', async () => {
    const before = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
    const cases: Array<[string, string, Record<string, unknown>?]> = [
      ['UNKNOWN_LEDGER', `mutation { appendEvent(ledger: "nope", input: {type: "t", actor: "a"}) { index } }`],
      ['UNKNOWN_PARENT', `mutation { appendEvent(input: {type: "t", actor: "a", parents: ["${'ab'.repeat(32)}"]}) { index } }`],
      ['BAD_USER_INPUT', `mutation { appendEvent(input: {type: "t", actor: "a", parents: ["not-hex"]}) { index } }`],
      ['BAD_USER_INPUT', `mutation { appendEvent(input: {type: "t", actor: "a", signature: "00"}) { index } }`],
      ['PAYLOAD_TOO_LARGE', `mutation($p: JSON) { appendEvent(input: {type: "t", actor: "a", payload: $p}) { index } }`, { p: { s: 'x'.repeat(70_000) } }],
      ['BATCH_TOO_LARGE', `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, { i: Array.from({ length: 1001 }, () => ({ type: 't', actor: 'a' })) }],
      ['HLC_OUT_OF_SKEW', `mutation { appendEvent(input: {type: "t", actor: "a", hlc: {physicalMs: 1, logical: 0}}) { index } }`],
      ['PROOF_OUT_OF_RANGE', `{ inclusionProof(index: 0, treeSize: 100000) { rootHash } }`],
      ['PROOF_OUT_OF_RANGE', `{ consistencyProof(fromSize: 1, toSize: 100000) { toRoot } }`],
      ['BAD_USER_INPUT', `{ event(id: "xyz") { index } }`],
      ['GRAPHQL_VALIDATION_FAILED', `{ nonsense }`],
    ];
    for (const [code, query, variables] of cases) {
      const r = await gql(server.url, query, variables);
      expect(r.errors?.[0]?.extensions?.code, query).toBe(code);
      expect(JSON.stringify(r.errors)).not.toMatch(/\bat .*\.js:\d+/); // no stack traces
    }
    const after = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
    expect(after).toBe(before);
  });
});
