import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { treeHasher } from '../../src/ledger/merkle/index.js';
import { formatCheckpoint, noteSignerFromSeed, signNote } from '../../src/ledger/note/index.js';
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
      [200, JSON.stringify({ errors: [{ message: 'peer down', extensions: { code: 'PEER_UNAVAILABLE' } }] }), 3, 'chainproof: PEER_UNAVAILABLE: peer down\n'],
      [500, JSON.stringify({ errors: [{ message: 'bug', extensions: { code: 'INTERNAL' } }] }), 4, 'chainproof: INTERNAL: bug\n'],
      [502, '<html>bad gateway</html>', 3, /^chainproof: UNAVAILABLE: .* answered HTTP 502\n$/],
      [200, JSON.stringify({ errors: [{ message: 'x', extensions: { code: 'FORBIDDEN\nchainproof: OK' } }] }), 3, /^chainproof: PEER_MISBEHAVED: .* answered an error without a code\n$/],
      [200, JSON.stringify({ errors: [{ message: 'x', extensions: { code: { evil: 1 } } }] }), 3, /^chainproof: PEER_MISBEHAVED: .* answered an error without a code\n$/],
      [200, JSON.stringify({ errors: [null] }), 3, /^chainproof: PEER_MISBEHAVED: .* answered an error without a code\n$/],
      [200, 'null', 3, /^chainproof: PEER_MISBEHAVED: .* answered HTTP 200 without data\n$/],
      [200, '{"data":{}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats is not an object\n$/],
      [200, '{"data":{"stats":null}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats is not an object\n$/],
      [200, '{"data":{"stats":{"treeSize":1,"blocks":1,"eventsByType":[{"type":{},"count":1}]}}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats\.eventsByType\[0\]\.type is not a string\n$/],
      [200, '{"data":{"stats":{"treeSize":1,"blocks":1,"eventsByType":{}}}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats\.eventsByType is not a list\n$/],
      [200, '{"data":{"stats":[1,2]}}', 3, /^chainproof: PEER_MISBEHAVED: .* answered wrongly: data\.stats is not an object\n$/],
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

  it('does not follow a redirect, which would send the key and request on: bad usage naming the address, exit 2', async () => {
    const target = await fakeServer(answer(200, '{"data":{"stats":{"treeSize":1,"blocks":0,"eventsByType":[]}}}'));
    const redirecting = await fakeServer((_, res) => void res.writeHead(307, { location: target.url }).end());
    try {
      const r = await cliAsync(['stats', '--url', redirecting.url, '--key', 'cpk_not-for-anyone-else']);
      expect(r.stderr).toBe(`chainproof: BAD_USER_INPUT: ${redirecting.url} answered HTTP 307, a redirect to ${target.url}: give --url the address the server answers at\n`);
      expect(r.code).toBe(2);
      expect(target.queries).toEqual([]);
    } finally {
      await Promise.all([redirecting.close(), target.close()]);
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

  it('stats draws a bar per type, scaled to the largest, at least one block, the type escaped', async () => {
    const stats = { treeSize: 201, blocks: 2, eventsByType: [{ type: 'big', count: 200 }, { type: 'x\u001b', count: 1 }] };
    const server = await fakeServer(answer(200, JSON.stringify({ data: { stats } })));
    try {
      const r = await cliAsync(['stats', '--url', server.url]);
      expect(r.stdout).toBe(`201 events, 2 blocks\nbig      ${'█'.repeat(40)} 200\nx\\u001b  █ 1\n`);
      expect(r.code).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('export follows the server\'s pages into one JSON array or one line per event, and counts them', async () => {
    const server = await fakeServer(({ variables }, res) => {
      const [events, endCursor, hasNextPage] = variables.a === null ? [[event(0), event(1)], 'c1', true] : [[event(2)], 'c2', false];
      res.end(JSON.stringify({ data: { events: { edges: events.map((node) => ({ node })), pageInfo: { endCursor, hasNextPage } } } }));
    });
    try {
      const json = await cliAsync(['export', '--url', server.url, '--format', 'json']);
      expect(JSON.parse(json.stdout).map((e: { index: number }) => e.index)).toEqual([0, 1, 2]);
      expect(json.stderr).toBe('exported 3 events\n');
      const jsonl = await cliAsync(['export', '--url', server.url]);
      expect(jsonl.stdout.split('\n').map((l) => l && JSON.parse(l).index)).toEqual([0, 1, 2, '']);
      expect(jsonl.code).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('query prints a table of the server\'s events, recorded text escaped', async () => {
    const e = { ...event(7), id: 'ab'.repeat(32), actor: 'bob\nforged', subsystem: 'db', result: 'ok' };
    const server = await fakeServer(answer(200, JSON.stringify({ data: { events: { edges: [{ node: e }], pageInfo: { endCursor: null, hasNextPage: false } } } })));
    try {
      const r = await cliAsync(['query', '--url', server.url]);
      expect(r.stdout.split('\n')).toEqual([
        'index  time                      type  actor            subsystem  result  id',
        `7      2027-01-15T08:00:00.000Z  t     bob\\u000aforged  db         ok      ${'ab'.repeat(8)}`,
        '',
      ]);
    } finally {
      await server.close();
    }
  });

  it('an event id that is not 64 lowercase hex, or a --limit out of range, is refused before the server is asked', async () => {
    const server = await fakeServer(answer(500, '{}'));
    try {
      const cases: Array<[string[], string]> = [
        [['proof', 'AB'.repeat(32)], 'event id must be 64 lowercase hex characters'],
        [['proof', 'ab'.repeat(31)], 'event id must be 64 lowercase hex characters'],
        [['query', '--limit', '1001'], '--limit must be an integer in 1..1000'],
        [['query', '--limit', '0'], '--limit must be an integer in 1..1000'],
        [['trace', '--agent', 'a', '--limit', '1001'], '--limit must be an integer in 1..1000'],
      ];
      for (const [args, message] of cases) {
        const r = await cliAsync([...args, '--url', server.url]);
        expect(r.stderr, args.join(' ')).toBe(`chainproof: BAD_USER_INPUT: ${message}\n`);
        expect(r.code, args.join(' ')).toBe(2);
      }
      expect(server.queries).toEqual([]);
      // The largest limit is taken: the server is asked, and its failure is what is said.
      expect((await cliAsync(['query', '--limit', '1000', '--url', server.url])).code).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('sends --type as a trimmed list, --start/--end and trace times as UTC instants, and no --until as none', async () => {
    const variables: Array<Record<string, unknown>> = [];
    const server = await fakeServer((request, res) => {
      variables.push(request.variables);
      if (request.query.includes('trace(')) return void res.end(JSON.stringify({ data: { trace: { truncated: false, lines: [] } } }));
      res.end(JSON.stringify({ data: { events: { edges: [], pageInfo: { endCursor: null, hasNextPage: false } } } }));
    });
    try {
      expect((await cliAsync(['query', '--url', server.url, '--start', '2026-12-01T03:00+01:00', '--end', '2026-12-02'])).code).toBe(0);
      expect(variables[0]!.f).toMatchObject({ from: '2026-12-01T02:00:00.000Z', to: '2026-12-02T00:00:00.000Z' });
      expect((await cliAsync(['query', '--url', server.url, '--type', 'a, b,,'])).code).toBe(0);
      expect(variables.pop()!.f).toMatchObject({ types: ['a', 'b'] });
      const traced = await cliAsync(['trace', '--agent', 'a', '--url', server.url, '--since', '2026-12-01T00:00Z', '--until', '2026-12-01T06:00-01:00']);
      expect(traced.stdout).toBe('no queries in that window\n');
      // Without --limit, 200 lines.
      expect(variables[1]).toMatchObject({ agent: 'a', since: '2026-12-01T00:00:00.000Z', until: '2026-12-01T07:00:00.000Z', first: 200 });
      expect((await cliAsync(['trace', '--agent', 'a', '--url', server.url, '--since', '2026-12-01'])).code).toBe(0);
      expect(variables[2]!.until).toBeNull();
      // A window of one instant is a window, not --since after --until.
      expect((await cliAsync(['trace', '--agent', 'a', '--url', server.url, '--since', '2026-12-01T00:00Z', '--until', '2026-12-01T01:00+01:00'])).code).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('sends --key, or else CHAINPROOF_API_KEY, as a bearer token', async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      res.end(JSON.stringify({ data: { stats: { treeSize: 0, blocks: 0, eventsByType: [] } } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
      for (const [args, env] of [[[], {}], [[], { CHAINPROOF_API_KEY: 'cpk_env' }], [['--key', 'cpk_flag'], { CHAINPROOF_API_KEY: 'cpk_env' }]] as const) {
        expect((await cliAsync(['stats', '--url', url, ...args], env)).code).toBe(0);
      }
      expect(seen).toEqual([undefined, 'Bearer cpk_env', 'Bearer cpk_flag']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('proof of an event the server does not have: NOT_FOUND, exit 2', async () => {
    const server = await fakeServer(answer(200, JSON.stringify({ data: { event: null, inclusionProof: { hashes: [], checkpoint: null } } })));
    try {
      const r = await cliAsync(['proof', 'ab'.repeat(32), '--url', server.url]);
      expect(r.stderr).toBe(`chainproof: NOT_FOUND: no event ${'ab'.repeat(32)} in ledger main\n`);
      expect(r.code).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('proof where no checkpoint covers the event and making one fails on the server: its error as it is, not a missing key', async () => {
    const server = await fakeServer(({ query }, res) => {
      if (query.includes('createCheckpoint')) return void res.writeHead(503).end(JSON.stringify({ errors: [{ message: 'the database is unavailable', extensions: { code: 'UNAVAILABLE' } }] }));
      res.end(JSON.stringify({ data: { event: { index: 0, canonical: 'e30=' }, inclusionProof: { hashes: [], checkpoint: null } } }));
    });
    try {
      const r = await cliAsync(['proof', 'ab'.repeat(32), '--url', server.url]);
      expect(r.stderr).toBe('chainproof: UNAVAILABLE: the database is unavailable\n');
      expect(r.code).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('sync now: a table of each peer\'s result, exit 3 when any one failed', async () => {
    const result = (peer: string, error: { code: string; message: string } | null) => ({
      peer, ok: error === null, error, received: 2, skipped: 0, fromPosition: 1, toPosition: 3, checkpointSize: 3, durationMs: 5,
    });
    const server = await fakeServer(answer(200, JSON.stringify({ data: { syncNow: [
      result('http://a.test/graphql', null), result('http://b.test/graphql', { code: 'PEER_UNAVAILABLE', message: 'down\u001b[2J' }),
    ] } })));
    try {
      const r = await cliAsync(['sync', 'now', '--url', server.url]);
      expect(r.stdout.split('\n')).toEqual([
        'peer                   result                           received  skipped  position  checkpoint  ms',
        'http://a.test/graphql  ok                               2         0        1→3       3           5',
        'http://b.test/graphql  PEER_UNAVAILABLE: down\\u001b[2J  2         0        1→3       3           5',
        '',
      ]);
      expect(r.code).toBe(3);
    } finally {
      await server.close();
    }
  });

  describe('trace --proofs', () => {
    // A four-event log, signed here: the server's proofs are made by hand, right or wrong as a case needs.
    const log = noteSignerFromSeed('log.test', Buffer.alloc(32, 1));
    const hasher = treeHasher('sha256');
    const canonical = [0, 1, 2, 3].map((k) => Buffer.from(JSON.stringify({ k })));
    const leaves = canonical.map((c) => hasher.leafHash(c));
    const pairs = [hasher.nodeHash(leaves[0]!, leaves[1]!), hasher.nodeHash(leaves[2]!, leaves[3]!)];
    const note = signNote(formatCheckpoint({ origin: 'log.test/main', treeSize: 4, rootHash: hasher.nodeHash(pairs[0]!, pairs[1]!) }), [log]);
    const pathOf = (i: number) => [leaves[i ^ 1]!, pairs[(i >> 1) ^ 1]!].map((h) => h.toString('hex'));
    let queryIdOf = (i: number) => `q-${i}`;
    const line = (i: number) => ({
      queryId: queryIdOf(i), time: '2026-12-02T10:00:00.000Z', subject: 'auth/login', predicate: 'ttl', lens: null, result: i, resultHash: 'ab'.repeat(32),
      resultConfidence: null, eventId: leaves[i]!.toString('hex'), eventIndex: i, recordedBy: 'recorder', contributingAssertions: [],
    });

    /** A server whose trace has four lines; `proof(i)` is what it answers for line i's event. */
    const traceServer = (proof: (i: number) => { hashes: string[]; checkpoint: { note: string } | null }) =>
      fakeServer(({ query, variables }, res) => {
        if (query.includes('trace(')) return void res.end(JSON.stringify({ data: { trace: { truncated: false, lines: [0, 1, 2, 3].map(line) } } }));
        if (query.includes('createCheckpoint')) return void res.end(JSON.stringify({ errors: [{ message: 'a writer\'s key is needed', extensions: { code: 'FORBIDDEN' } }] }));
        const i = leaves.findIndex((l) => l.toString('hex') === variables.id);
        res.end(JSON.stringify({ data: { event: { index: i, canonical: canonical[i]!.toString('base64') }, inclusionProof: proof(i) } }));
      });

    const inDir = async (server: { url: string }, args: string[] = []) => {
      const dir = mkdtempSync(join(tmpdir(), 'chainproof-proofs-'));
      try {
        const r = await cliAsync(['trace', '--agent', 'a', '--url', server.url, '--proofs', dir, ...args]);
        return { ...r, files: readdirSync(dir).sort(), dir };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it('writes one checked proof per line, which verify-proof accepts', async () => {
      const server = await traceServer((i) => ({ hashes: pathOf(i), checkpoint: { note } }));
      const dir = mkdtempSync(join(tmpdir(), 'chainproof-proofs-'));
      try {
        const r = await cliAsync(['trace', '--agent', 'a', '--url', server.url, '--proofs', dir]);
        expect(r.stderr).toBe(`wrote 4 proofs to ${dir}\n`);
        expect(r.code).toBe(0);
        expect(readdirSync(dir).sort()).toEqual(['q-0.tlog-proof', 'q-1.tlog-proof', 'q-2.tlog-proof', 'q-3.tlog-proof']);
        const ok = await cliAsync(['verify-proof', join(dir, 'q-2.tlog-proof'), '--key', log.verifierKey]);
        expect(ok.stdout).toMatch(/^VALID: event [0-9a-f]{64} is entry 2 of log\.test\/main/);
      } finally {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('names the proofs of query ids that differ only in case apart, so that none overwrites another on a case-insensitive file system', async () => {
      queryIdOf = (i) => (i === 1 ? 'Q-0' : `q-${i}`);
      const server = await traceServer((i) => ({ hashes: pathOf(i), checkpoint: { note } }));
      try {
        const { code, files } = await inDir(server);
        expect(code).toBe(0);
        const hex = (i: number) => leaves[i]!.toString('hex').slice(0, 16);
        expect(files).toEqual([`Q-0.${hex(1)}.tlog-proof`, `q-0.${hex(0)}.tlog-proof`, 'q-2.tlog-proof', 'q-3.tlog-proof'].sort());
      } finally {
        queryIdOf = (i) => `q-${i}`;
        await server.close();
      }
    });

    it('an event no checkpoint covers, with a reader\'s key: refused before anything is printed or written', async () => {
      const server = await traceServer((i) => ({ hashes: pathOf(i), checkpoint: i === 3 ? null : { note } }));
      try {
        const r = await inDir(server);
        expect(r.stderr).toMatch(/^chainproof: NOTHING_TO_CHECKPOINT: [^\n]*FORBIDDEN[^\n]*\n$/);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.files).toEqual([]);
      } finally {
        await server.close();
      }
    });

    it('a proof that does not lead to its checkpoint\'s root, or is of other bytes: PEER_MISBEHAVED, exit 3, nothing written', async () => {
      const cases = [
        (i: number) => ({ hashes: i === 2 ? pathOf(1) : pathOf(i), checkpoint: { note } }),
        (i: number) => ({ hashes: pathOf(i), checkpoint: { note: i === 1 ? 'not a note' : note } }),
      ];
      for (const proof of cases) {
        const server = await traceServer(proof);
        try {
          const r = await inDir(server, ['--json']);
          expect(r.stderr).toMatch(/^chainproof: PEER_MISBEHAVED: the proof of event [0-9a-f]{64} does not hold: [^\n]*\n$/);
          expect(r.code).toBe(3);
          expect(r.stdout).toBe('');
          expect(r.files).toEqual([]);
        } finally {
          await server.close();
        }
      }
      // proof checks its answer the same way.
      const server = await fakeServer((_, res) => void res.end(JSON.stringify({
        data: { event: { index: 0, canonical: canonical[1]!.toString('base64') }, inclusionProof: { hashes: pathOf(0), checkpoint: { note } } },
      })));
      try {
        const r = await cliAsync(['proof', leaves[0]!.toString('hex'), '--url', server.url]);
        expect(r.stderr).toMatch(/^chainproof: PEER_MISBEHAVED: the proof of event [0-9a-f]{64} does not hold: its event bytes are another event's\n$/);
        expect(r.code).toBe(3);
        expect(r.stdout).toBe('');
      } finally {
        await server.close();
      }
    });

    it('a query id that could name a path outside the directory: PEER_MISBEHAVED, exit 3, nothing written', async () => {
      queryIdOf = (i) => (i === 2 ? '../escaped' : `q-${i}`);
      const server = await traceServer((i) => ({ hashes: pathOf(i), checkpoint: { note } }));
      try {
        const r = await inDir(server);
        expect(r.stderr).toBe('chainproof: PEER_MISBEHAVED: the server answered query id "../escaped", which no server records\n');
        expect(r.code).toBe(3);
        expect(r.stdout).toBe('');
        expect(r.files).toEqual([]);
      } finally {
        queryIdOf = (i) => `q-${i}`;
        rmSync(join(tmpdir(), 'escaped.tlog-proof'), { force: true });
        await server.close();
      }
    });

    it('a bad --timeout is refused before the --proofs directory is made', async () => {
      const dir = join(tmpdir(), `chainproof-never-${process.pid}`);
      try {
        const r = await cliAsync(['trace', '--agent', 'a', '--proofs', dir, '--timeout', '0']);
        expect(r.stderr).toMatch(/^chainproof: BAD_USER_INPUT: --timeout must be/);
        expect(r.code).toBe(2);
        expect(existsSync(dir)).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
