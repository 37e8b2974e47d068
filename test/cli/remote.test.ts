import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync } from '../support/cli.js';

type Handler = (request: { query: string; variables: Record<string, unknown> }, res: ServerResponse) => void;

/** A server at `--url` that answers what the test says, as a broken or hostile one might. */
async function fakeServer(handler: Handler) {
  const queries: string[] = [];
  const server = createServer(async (req, res) => {
    res.on('error', () => {});
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const request = JSON.parse(raw);
    queries.push(request.query);
    handler(request, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    queries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => undefined),
  };
}

const answer = (status: number, body: string): Handler => (_, res) => void res.writeHead(status, { 'content-type': 'application/json' }).end(body);

const event = (index: number) => ({
  index, id: index.toString(16).padStart(64, '0'), type: 't', actor: 'a', author: null, resource: null, subsystem: null, result: null,
  correlationId: null, payload: { index }, parents: [], hlc: { physicalMs: 1_800_000_000_000, logical: 0 }, signature: null, canonical: 'e30=',
});

const ONE_LINE = /^chainproof: [A-Z][A-Z0-9_]*: [^\n]*\n$/;

describe('chainproof against a server that misbehaves', () => {
  it('passes on the server\'s code and message as one escaped line, and exits by what the code means', async () => {
    const cases: Array<[status: number, body: string, exit: number, stderr: string | RegExp]> = [
      [200, JSON.stringify({ errors: [{ message: 'no\n\u001b[2Jway', extensions: { code: 'FORBIDDEN' } }] }), 2, 'chainproof: FORBIDDEN: no\\u000a\\u001b[2Jway\n'],
      [500, JSON.stringify({ errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }), 4, 'chainproof: INTERNAL_SERVER_ERROR: internal error\n'],
      [429, JSON.stringify({ errors: [{ message: 'rate limit exceeded; retry later', extensions: { code: 'RATE_LIMITED' } }] }), 3, 'chainproof: RATE_LIMITED: rate limit exceeded; retry later\n'],
      [502, '<html>bad gateway</html>', 3, /^chainproof: UNAVAILABLE: .* answered HTTP 502\n$/],
      [200, JSON.stringify({ errors: [{ message: 'x', extensions: { code: 'FORBIDDEN\nchainproof: OK' } }] }), 3, /^chainproof: PEER_MISBEHAVED: .* answered an error without a code\n$/],
      [200, JSON.stringify({ errors: [{ message: 'x', extensions: { code: { evil: 1 } } }] }), 3, /^chainproof: PEER_MISBEHAVED: .* answered an error without a code\n$/],
      [200, JSON.stringify({ errors: [null] }), 3, /^chainproof: PEER_MISBEHAVED: .* answered an error without a code\n$/],
      [200, 'null', 3, /^chainproof: PEER_MISBEHAVED: .* answered HTTP 200 without data\n$/],
      [200, '{"data":{}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats is not an object\n$/],
      [200, '{"data":{"stats":null}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats is not an object\n$/],
      [200, '{"data":{"stats":{"treeSize":1,"blocks":1,"eventsByType":[{"type":{},"count":1}]}}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats\.eventsByType\[0\]\.type is not a string\n$/],
    ];
    for (const [status, body, exit, stderr] of cases) {
      const server = await fakeServer(answer(status, body));
      try {
        const r = await cliAsync(['stats', '--url', server.url]);
        expect(r.stderr, body).toMatch(ONE_LINE);
        expect(r.stderr, body).toMatch(stderr);
        expect(r.stderr).not.toContain('\u001b');
        expect(r.stderr).not.toContain('[object Object]');
        expect({ body, code: r.code }).toEqual({ body, code: exit });
        expect(r.stdout).toBe('');
      } finally {
        await server.close();
      }
    }
  });

  it('stops reading an answer past 64 MB: a misbehaving peer, exit 3', async () => {
    // 80 MB of valid JSON: read in full, it would print stats as if all were well.
    const megabyte = ' '.repeat(1024 * 1024);
    const server = await fakeServer(async (_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const closed = once(res, 'close');
      res.write('{"data":{"stats":');
      for (let i = 0; i < 80 && !res.destroyed; i++) {
        if (!res.write(megabyte)) await Promise.race([once(res, 'drain'), closed]);
      }
      res.end('{"treeSize":1,"blocks":0,"eventsByType":[]}}}');
    });
    try {
      const r = await cliAsync(['stats', '--url', server.url]);
      expect(r.stderr).toMatch(/^chainproof: PEER_MISBEHAVED: .* answered more than 67108864 bytes\n$/);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
    } finally {
      await server.close();
    }
  });

  it('export: a server that fails after the first page leaves the --output file as it was, and no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainproof-export-'));
    const server = await fakeServer(({ variables }, res) => {
      if (variables.a === null) {
        return void res.end(JSON.stringify({ data: { events: { edges: [{ node: event(0) }, { node: event(1) }], pageInfo: { endCursor: 'c1', hasNextPage: true } } } }));
      }
      res.writeHead(503).end(JSON.stringify({ errors: [{ message: 'the database is unavailable', extensions: { code: 'UNAVAILABLE' } }] }));
    });
    try {
      const keep = join(dir, 'keep.jsonl');
      writeFileSync(keep, 'precious\n');
      for (const format of ['jsonl', 'json']) {
        const r = await cliAsync(['export', '--url', server.url, '--format', format, '--output', keep]);
        expect(r.stderr).toBe('chainproof: UNAVAILABLE: the database is unavailable\n');
        expect(r.code).toBe(3);
        expect(readFileSync(keep, 'utf8')).toBe('precious\n');
        expect(readdirSync(dir)).toEqual(['keep.jsonl']);
      }
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('proof --output into a missing directory is refused before the server is asked (which may sign a checkpoint)', async () => {
    const server = await fakeServer(answer(200, JSON.stringify({ data: { createCheckpoint: { treeSize: 1 } } })));
    try {
      const r = await cliAsync(['proof', 'ab'.repeat(32), '--url', server.url, '--output', join(tmpdir(), 'chainproof-no-such-dir', 'e.tlog-proof')]);
      expect(r.stderr).toMatch(/^chainproof: BAD_USER_INPUT: --output: ENOENT[^\n]*\n$/);
      expect(r.code).toBe(2);
      expect(server.queries).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
