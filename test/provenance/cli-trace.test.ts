import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { serverBackend } from '../support/db.js';
import { TEST_SEED } from '../support/ledger.js';
import { gql, ledgerAhead, SMALL_LEDGER_ENV, startServer } from '../support/server.js';
import { sha } from './support.js';

const BIN = fileURLToPath(new URL('../../bin/chainproof.js', import.meta.url));
let env: Record<string, string>;
let cleanup: () => Promise<void>;
const eventIds = new Map<string, string>();

function cli(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env, ...extra }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
  const server = await startServer(env);
  await gql(server.url, `mutation($i: SourceInput!) { recordSource(input: $i) { eventId } }`, { i: { locator: 'git://cfg/auth.yaml@c3', contentHash: sha('c3') } });
  const a = await gql(server.url, `mutation($i: AssertionInput!) { recordAssertion(input: $i) { hash } }`, {
    i: { subject: 'auth/session', predicate: 'ttl', value: 900, lifecycle: 'ACCEPTED', confidence: 0.95, sourceHash: sha('c3') },
  });
  for (const [queryId, subject] of [['q-a', 'auth/session'], ['q-db', 'db/pool'], ['q-b', 'auth/login']]) {
    const r = await gql(server.url, `mutation($i: QueryAuditInput!) { recordQuery(input: $i) { eventId } }`, {
      i: { queryId, agentId: 'deployment-agent', subject, predicate: 'ttl', result: { ttl: 900 }, resultConfidence: 0.9,
        contributingAssertions: [{ assertionHash: a.data.recordAssertion.hash, weight: 0.75 }] },
    });
    expect(r.errors).toBeUndefined();
    eventIds.set(queryId, r.data.recordQuery.eventId);
  }
  // A ledger whose clock a writer set ahead of this machine's (within the allowed skew): its audit is stamped ahead too.
  await ledgerAhead(server.url, 'ahead', 50_000);
  const late = await gql(server.url, `mutation($i: QueryAuditInput!) { recordQuery(ledger: "ahead", input: $i) { queryId } }`, {
    i: { queryId: 'q-ahead', agentId: 'late-agent', subject: 'auth/x', predicate: 'p', result: 1, contributingAssertions: [] },
  });
  expect(late.errors).toBeUndefined();
  await server.kill('SIGTERM');
});
afterAll(async () => cleanup?.());

describe('chainproof trace', () => {
  // First, while the audit stamped ahead is still ahead of this machine's clock.
  it('"now" as the end takes every audit up to the newest, though the ledger\'s clock runs ahead of this machine\'s: trace and MCP', async () => {
    const r = cli(['trace', '--ledger', 'ahead', '--agent', 'late-agent', '--since', '1 hour ago', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).lines.map((l: { queryId: string }) => l.queryId)).toEqual(['q-ahead']);
    const client = new Client({ name: 'chainproof-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env }, stderr: 'pipe' }));
    try {
      // The default end is "now".
      const t = (await client.callTool({ name: 'provenance_trace', arguments: { ledger: 'ahead', agent: 'late-agent' } })) as { content: Array<{ text: string }> };
      expect(JSON.parse(t.content[0]!.text).lines.map((l: { queryId: string }) => l.queryId)).toEqual(['q-ahead']);
    } finally {
      await client.close();
    }
  });

  it('prints a readable timeline of the agent\'s queries on matching subjects, with the assertions and sources behind them', () => {
    const r = cli(['trace', '--agent', 'deployment-agent', '--since', '6 hours ago', '--subject', 'auth/*']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z  auth\/session ttl → \{"ttl":900\}  confidence 0\.9\n/);
    expect(r.stdout).toContain('0.75  auth/session ttl = 900 (ACCEPTED, 0.95)  ← git://cfg/auth.yaml@c3');
    expect(r.stdout).toContain('auth/login');
    expect(r.stdout).not.toContain('db/pool');
    expect(r.stdout).toMatch(/2 queries\n$/);
  });

  it('--limit keeps the oldest lines and says more matched', () => {
    const r = cli(['trace', '--agent', 'deployment-agent', '--since', '1h', '--limit', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n2 queries \(more matched: narrow the window or raise --limit\)\n$/);
    const t = JSON.parse(cli(['trace', '--agent', 'deployment-agent', '--since', '1h', '--limit', '2', '--json']).stdout);
    expect({ truncated: t.truncated, queryIds: t.lines.map((l: { queryId: string }) => l.queryId) }).toEqual({ truncated: true, queryIds: ['q-a', 'q-db'] });
  });

  it('--json gives the lines; --proofs writes one tlog-proof per line that verify-proof accepts offline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-proofs-'));
    try {
      const r = cli(['trace', '--agent', 'deployment-agent', '--since', '1h', '--json', '--proofs', dir]);
      expect(r.code).toBe(0);
      const t = JSON.parse(r.stdout);
      expect(t.lines.map((l: { queryId: string }) => l.queryId)).toEqual(['q-a', 'q-db', 'q-b']);
      expect(readdirSync(dir).sort()).toEqual(['q-a.tlog-proof', 'q-b.tlog-proof', 'q-db.tlog-proof']);
      const vkey = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
      for (const [queryId, id] of eventIds) {
        const ok = cli(['verify-proof', join(dir, `${queryId}.tlog-proof`), '--key', vkey, '--origin', 'test.chainproof/main']);
        expect(ok.code).toBe(0);
        expect(ok.stdout).toContain(`VALID: event ${id} is entry`);
      }
      expect(readFileSync(join(dir, 'q-a.tlog-proof'), 'utf8')).toMatch(/^c2sp\.org\/tlog-proof@v1\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers the same against a running server, and refuses a bad time with exit 2', async () => {
    const direct = JSON.parse(cli(['trace', '--agent', 'deployment-agent', '--since', '2 hours ago', '--until', 'now', '--json']).stdout);
    const server = await startServer(env);
    try {
      const remote = cli(['trace', '--agent', 'deployment-agent', '--since', '2 hours ago', '--json', '--url', server.url]);
      expect(remote.stderr).toBe('');
      expect(JSON.parse(remote.stdout)).toEqual(direct);
      // --limit and --subject are the server's to apply, as they are the database's.
      for (const [args, queryIds, truncated] of [[['--limit', '1'], ['q-a'], true], [['--subject', 'db/*'], ['q-db'], false]] as const) {
        const narrowed = JSON.parse(cli(['trace', '--agent', 'deployment-agent', '--since', '2 hours ago', '--json', '--url', server.url, ...args]).stdout);
        expect({ queryIds: narrowed.lines.map((l: { queryId: string }) => l.queryId), truncated: narrowed.truncated }, args.join(' ')).toEqual({ queryIds, truncated });
      }
    } finally {
      await server.kill('SIGTERM');
    }
    const bad = cli(['trace', '--agent', 'x', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^chainproof: BAD_USER_INPUT: --since must be/);
  });

  it('MCP provenance_trace answers with the same lines', async () => {
    const client = new Client({ name: 'chainproof-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env }, stderr: 'pipe' }));
    try {
      const r = (await client.callTool({ name: 'provenance_trace', arguments: { agent: 'deployment-agent', subject: 'auth/**' } })) as { isError?: boolean; content: Array<{ text: string }> };
      expect(r.isError ?? false).toBe(false);
      const body = JSON.parse(r.content[0]!.text);
      expect(body.lines.map((l: { queryId: string; eventId: string }) => [l.queryId, l.eventId])).toEqual([['q-a', eventIds.get('q-a')], ['q-b', eventIds.get('q-b')]]);
      expect(body.lines[0].contributingAssertions[0].source.locator).toBe('git://cfg/auth.yaml@c3');
      const limited = (await client.callTool({ name: 'provenance_trace', arguments: { agent: 'deployment-agent', limit: 1 } })) as { content: Array<{ text: string }> };
      const t = JSON.parse(limited.content[0]!.text);
      expect({ queryIds: t.lines.map((l: { queryId: string }) => l.queryId), truncated: t.truncated }).toEqual({ queryIds: ['q-a'], truncated: true });
      const bad = (await client.callTool({ name: 'provenance_trace', arguments: { agent: 'deployment-agent', since: 'soon' } })) as { isError?: boolean; content: Array<{ text: string }> };
      expect(bad.isError).toBe(true);
      expect(JSON.parse(bad.content[0]!.text).code).toBe('BAD_USER_INPUT');
    } finally {
      await client.close();
    }
  });
});
