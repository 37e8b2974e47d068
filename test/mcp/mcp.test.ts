import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { serverBackend } from '../support/db.js';
import { gql, ledgerAhead, SMALL_LEDGER_ENV, startServer } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../bin/chainproof.js', import.meta.url));
let env: Record<string, string>;
let cleanup: () => Promise<void>;
let client: Client;
// One configured peer (nothing listens there): what sync_status reports.
const PEER_ENV = {
  CHAINPROOF_SYNC: 'false',
  CHAINPROOF_PEERS: `http://127.0.0.1:9/graphql|${noteSignerFromSeed('peer.test', Buffer.alloc(32, 1)).verifierKey}`,
};

beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
  const server = await startServer(env);
  await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
    i: Array.from({ length: 12 }, (_, k) => ({ type: k % 3 ? 'read' : 'write', actor: `agent-${k % 2}`, payload: { k } })),
  });
  // A ledger whose clock a writer set ahead of this machine's, within the allowed skew.
  await ledgerAhead(server.url, 'ahead', 50_000);
  await server.kill('SIGTERM');
  client = new Client({ name: 'chainproof-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env, ...PEER_ENV }, stderr: 'pipe' }));
});
afterAll(async () => {
  await client?.close();
  await cleanup?.();
});

const call = async (name: string, args: Record<string, unknown>) => {
  const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ text: string }> };
  return { isError: r.isError ?? false, body: JSON.parse(r.content[0]!.text) };
};

describe('MCP over stdio', () => {
  it('lists the audit tools, provenance_trace and sync_status with JSON schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['audit_checkpoint', 'audit_query', 'audit_stats', 'audit_verify', 'provenance_trace', 'sync_status']);
    const query = tools.find((t) => t.name === 'audit_query')!;
    expect(query.inputSchema.properties).toMatchObject({ limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } });
    // What an agent that leaves them out is given: the last six hours, up to the newest query, a hundred lines.
    expect(tools.find((t) => t.name === 'provenance_trace')!.inputSchema.properties).toMatchObject({
      since: { type: 'string', default: '6 hours ago' },
      until: { type: 'string', default: 'now' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    });
  });

  it('audit_query filters, limits and leaves payloads out unless asked', async () => {
    const r = await call('audit_query', { type: ['write'], limit: 3 });
    expect(r.isError).toBe(false);
    expect(r.body.events.map((e: { index: number }) => e.index)).toEqual([0, 3, 6]);
    expect(r.body.events[0]).not.toHaveProperty('payload');
    expect(r.body.more).toBe(true);
    const withPayload = await call('audit_query', { actor: 'agent-1', limit: 1, includePayload: true });
    expect(withPayload.body.events[0]).toMatchObject({ actor: 'agent-1', payload: { k: 1 } });
    // These events are unsigned: they have no author to match.
    expect(await call('audit_query', { author: 'did:key:nobody' })).toEqual({ isError: false, body: { events: [], more: false } });
  });

  it('refuses arguments outside the schema, arguments it does not take and tools it does not have as the API refuses: coded, naming what is wrong', async () => {
    const refused = (message: string | RegExp) => ({ isError: true, body: { code: 'BAD_USER_INPUT', message: typeof message === 'string' ? message : expect.stringMatching(message) } });
    expect(await call('audit_query', { limit: 5000 })).toEqual(refused(/^argument limit: /));
    expect(await call('audit_query', { type: ['read', 7] })).toEqual(refused(/^argument type\[1\]: /));
    expect(await call('audit_stats', { ledger: 'Main!' })).toEqual(refused(/^argument ledger: a ledger name is /));
    expect(await call('audit_query', { actor: 'agent-0', autor: 'x' })).toEqual(refused('unknown argument "autor"'));
    // Not a checkpoint made without its tags.
    expect(await call('audit_checkpoint', { name: 'typo', tag: ['x'] })).toEqual(refused('unknown argument "tag"'));
    expect(await call('audit_nope', {})).toEqual(refused('no tool "audit_nope"; tools/list names them'));
    // Hard limits on how much one call may ask for.
    const many = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    expect(await call('audit_query', { type: many(51) })).toEqual(refused(/^argument type: /));
    expect(await call('audit_query', { type: ['x'.repeat(129)] })).toEqual(refused(/^argument type\[0\]: /));
    expect(await call('audit_query', { type: [''] })).toEqual(refused(/^argument type\[0\]: /));
    expect(await call('audit_checkpoint', { tags: many(33) })).toEqual(refused(/^argument tags: /));
    expect(await call('provenance_trace', { agent: 'a', limit: 1001 })).toEqual(refused(/^argument limit: /));
    const unknown = await call('audit_stats', { ledger: 'nope' });
    expect(unknown).toMatchObject({ isError: true, body: { code: 'UNKNOWN_LEDGER' } });
  });

  it('audit_query reads from and to as provenance_trace reads since and until, and refuses from after to', async () => {
    expect((await call('audit_query', { from: '1 hour ago', to: 'now', limit: 20 })).body.events).toHaveLength(12);
    // "now" is no bound: an event the ledger's clock stamped ahead of this machine's is in.
    expect((await call('audit_query', { ledger: 'ahead', from: '1 hour ago', to: 'now' })).body.events).toEqual([expect.objectContaining({ index: 0, type: 'clock' })]);
    expect((await call('audit_query', { from: '2000-01-01', to: '2000-01-01T23:59:59+01:00' })).body.events).toEqual([]);
    expect(await call('audit_query', { from: 'now', to: '1 hour ago' })).toEqual({ isError: true, body: { code: 'BAD_USER_INPUT', message: 'from must not be after to' } });
    // A window of one instant is a window.
    expect(await call('audit_query', { from: '2000-01-01T00:00:00Z', to: '2000-01-01T00:00:00Z' })).toEqual({ isError: false, body: { events: [], more: false } });
    expect(await call('audit_query', { from: '2026-02-30' })).toMatchObject({ isError: true, body: { code: 'BAD_USER_INPUT', message: expect.stringMatching(/^from must be /) } });
  });

  it('audit_checkpoint, audit_stats and audit_verify', async () => {
    const cp = await call('audit_checkpoint', { name: 'mcp', tags: ['agent'] });
    expect(cp.body).toMatchObject({ treeSize: 12 });
    expect(cp.body.note).toMatch(/^test\.chainproof\/main\n12\n/);
    const stats = await call('audit_stats', {});
    expect(stats.body.treeSize).toBe(12);
    const v = await call('audit_verify', { full: true });
    expect(v.body).toMatchObject({ status: 'VALID', eventsVerified: 12, issues: [] });
  });

  it('refuses text PostgreSQL cannot store (NUL) or would alter (lone surrogates) as bad arguments, not internal errors', async () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['audit_query', { author: 'agent\u0000' }],
      ['audit_query', { type: ['\u0000'] }],
      ['provenance_trace', { agent: 'a\u0000b' }],
      ['audit_checkpoint', { name: 'x\ud800' }],
    ];
    for (const [name, args] of cases) {
      const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ text: string }> };
      expect(r.isError, name).toBe(true);
      expect(r.content[0]!.text, name).toMatch(/well-formed Unicode without U\+0000/);
    }
    expect((await call('audit_stats', {})).body.treeSize).toBe(12);
  });

  it('sync_status shows the sync settings and the configured peers', async () => {
    const r = await call('sync_status', {});
    expect(r.isError).toBe(false);
    expect(r.body).toMatchObject({ autoSync: false, intervalMs: 300_000, syncing: false });
    expect(r.body.peers).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:9/graphql', origin: 'peer.test/main', status: 'disconnected', position: 0 })]);
  });
});
