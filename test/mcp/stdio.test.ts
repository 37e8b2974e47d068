import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BIN } from '../support/cli.js';
import { serverBackend } from '../support/db.js';
import { SMALL_LEDGER_ENV } from '../support/server.js';

let env: Record<string, string>;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ env, cleanup } = await serverBackend()));
afterAll(async () => cleanup?.());

/** `chainproof mcp` fed raw lines, as a client that frames its own messages would feed it. */
function mcp(stdin: 'pipe' | number = 'pipe') {
  const child = spawn(process.execPath, [BIN, 'mcp'], { env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  const replies: unknown[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (let nl = stdout.indexOf('\n'); nl !== -1; nl = stdout.indexOf('\n')) {
      replies.push(JSON.parse(stdout.slice(0, nl)));
      stdout = stdout.slice(nl + 1);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    send: (line: string) => child.stdin!.write(`${line}\n`),
    replies: async (n: number) => {
      await vi.waitFor(() => expect(replies.length).toBeGreaterThanOrEqual(n), { timeout: 30_000, interval: 50 });
      return replies;
    },
    end: async () => {
      child.stdin?.end();
      return { code: await exited, stderr };
    },
  };
}

/** The longest message read: what the SDK's own stdio transport allows. */
const MAX_LINE_BYTES = 10 * 1024 * 1024;
const ping = (id: number, params?: object) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', ...(params && { params }) });
/** A ping of exactly `bytes` bytes, padded in its params. */
const sized = (id: number, bytes: number) => {
  const empty = ping(id, { pad: '' });
  return empty.replace('"pad":""', `"pad":"${'x'.repeat(bytes - empty.length)}"`);
};
const refusal = (id: string | number | null, code: number) => ({ jsonrpc: '2.0', id, error: { code, message: expect.any(String) } });

describe('MCP stdio framing', () => {
  it('answers a line that is not JSON with -32700, one that is no JSON-RPC message with -32600 and a tools/call without a named tool or object arguments with -32602 (its id echoed), then reads on', async () => {
    const s = mcp();
    // Blank lines between messages are no messages: not answered.
    s.send('');
    s.send(' \r');
    s.send('{not json}');
    s.send('{"jsonrpc":"1.0","id":1,"method":"ping"}');
    s.send(`[${ping(2)}]`);
    s.send('{"jsonrpc":"2.0","id":"call-3","method":"tools/call","params":"notanobject"}');
    // A notification is never answered, not even a malformed one.
    s.send('{"jsonrpc":"2.0","method":"tools/call","params":{"name":7}}');
    s.send(ping(4));
    s.send('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"audit_stats","arguments":["main"]}}');
    s.send('{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":7}}');
    const replies = await s.replies(7);
    expect(replies).toHaveLength(7);
    expect(replies).toEqual(
      expect.arrayContaining([
        refusal(null, -32700),
        refusal(1, -32600),
        refusal(null, -32600),
        refusal('call-3', -32600),
        { jsonrpc: '2.0', id: 4, result: {} },
        refusal(5, -32602),
        refusal(6, -32602),
      ]),
    );
    // A batch is named as such, not as some other malformed message.
    expect(replies).toContainEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.stringMatching(/batches are not supported/) } });
    // One line each, as every other refusal: not the SDK's multi-line schema report.
    for (const r of replies as Array<{ error?: { message: string } }>) expect(r.error?.message ?? '').not.toContain('\n');
    const { code, stderr } = await s.end();
    expect(code).toBe(0);
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^chainproof: mcp: .*-32700/),
      ...Array.from({ length: 3 }, () => expect.stringMatching(/^chainproof: mcp: .*-32600/)),
      ...Array.from({ length: 2 }, () => expect.stringMatching(/^chainproof: mcp: .*-32602/)),
    ]);
  });

  it(`serves a message of ${MAX_LINE_BYTES} bytes, answers one a byte longer with -32600 and skips it, not the session`, async () => {
    const s = mcp();
    s.send(sized(1, MAX_LINE_BYTES));
    s.send(sized(2, MAX_LINE_BYTES + 1));
    s.send(ping(3));
    const replies = await s.replies(3);
    expect(replies).toHaveLength(3);
    expect(replies).toEqual(expect.arrayContaining([{ jsonrpc: '2.0', id: 1, result: {} }, refusal(null, -32600), { jsonrpc: '2.0', id: 3, result: {} }]));
    expect((await s.end()).code).toBe(0);
  });

  it('exits non-zero with one line on stderr when stdin fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-mcp-'));
    // Open for writing only: reading it fails (EBADF) rather than ending.
    const fd = openSync(join(dir, 'stdin'), 'w');
    try {
      const { code, stderr } = await mcp(fd).end();
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/^chainproof: mcp: [^\n]*EBADF[^\n]*\n$/);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });
});
