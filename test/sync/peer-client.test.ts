import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { PEER_HEADER, PeerClient } from '../../src/sync/peer-client.js';
import { peerSpec } from '../../src/sync/peer.js';
import { codeOf } from '../support/codes.js';

const vkey = noteSignerFromSeed('spec.test', Buffer.alloc(32, 8)).verifierKey;
const HASH = 'ab'.repeat(32);
const SIG = 'cd'.repeat(64);

/** A peer answering each request with whatever `answer` makes of it: everything a peer sends is up to it. */
let answer: (query: string, variables: Record<string, number>) => { status?: number; body: string };
let seen: Array<{ headers: IncomingHttpHeaders; query: string }> = [];
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { query, variables } = JSON.parse(body);
      seen.push({ headers: req.headers, query });
      const a = answer(query, variables);
      res.statusCode = a.status ?? 200;
      res.setHeader('content-type', 'application/json');
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const data = (d: unknown) => ({ body: JSON.stringify({ data: d }) });
const leaf = (n: number) => ({ canonical: Buffer.from(`{"n":${n}}`).toString('base64'), signature: SIG });
const client = (apiKey?: string) => new PeerClient(url, 'puller.test/main', apiKey, 5_000);
describe('a peer URL and key', () => {
  it('name the peer\'s synced ledger by the key\'s name', () => {
    expect(peerSpec('https://peer.example/graphql', vkey)).toEqual({ url: 'https://peer.example/graphql', verifierKey: vkey, origin: 'spec.test/main' });
  });

  it('are refused with credentials, a query string or a fragment in the URL, another scheme, a | or past 2048 characters', () => {
    for (const bad of ['http://user@peer.example/graphql', 'http://peer.example/graphql?token=x', 'http://peer.example/graphql#x', 'http://user:pw@peer.example/graphql', 'http://:pw@peer.example/graphql', 'ftp://peer.example/graphql', 'file:///etc/passwd', 'http://peer.example/a|b', `http://peer.example/${'a'.repeat(2030)}`, `http://peer.example/${'a'.repeat(2049 - 'http://peer.example/'.length)}`, 'not a url']) {
      expect(() => peerSpec(bad, vkey), bad).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    }
    expect(() => peerSpec('http://peer.example/graphql', 'spec.test+00000000+AAAA')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(peerSpec(`http://peer.example/${'a'.repeat(2048 - 'http://peer.example/'.length)}`, vkey).url).toHaveLength(2048);
  });
});

describe('a peer client', () => {
  it('names this node, and presents its key only when it has one', async () => {
    seen = [];
    answer = () => data({ syncCheckpoint: null });
    expect(await client('cpk_sync-key').checkpoint()).toBeNull();
    expect(await client().checkpoint()).toBeNull();
    expect(seen.map((s) => [s.headers[PEER_HEADER], s.headers.authorization])).toEqual([
      ['puller.test/main', 'Bearer cpk_sync-key'],
      ['puller.test/main', undefined],
    ]);
  });

  it('takes a page of exactly the leaves asked for, with well-formed signatures or none', async () => {
    answer = (_q, v) => data({ leafRange: { leaves: Array.from({ length: v.e - v.s }, (_, i) => ({ ...leaf(v.s + i), signature: i === 0 ? null : SIG })), proof: [HASH] } });
    const page = await client().leaves(2, 5, 9);
    expect(page.leaves.map((l) => l.canonical.toString())).toEqual(['{"n":2}', '{"n":3}', '{"n":4}']);
    expect(page.leaves.map((l) => l.signature?.toString('hex') ?? null)).toEqual([null, SIG, SIG]);
    expect(page.proof).toEqual([Buffer.from(HASH, 'hex')]);
  });

  it('calls a page of more or fewer leaves than asked for, or a malformed leaf, misbehaviour', async () => {
    const pages: unknown[] = [
      [leaf(0), leaf(1), leaf(2), leaf(3)],
      [leaf(0), leaf(1)],
      [leaf(0), leaf(1), { ...leaf(2), signature: 'zz'.repeat(64) }],
      [leaf(0), leaf(1), { ...leaf(2), signature: SIG.slice(2) }],
      [leaf(0), leaf(1), { ...leaf(2), signature: 7 }],
      [leaf(0), leaf(1), { signature: SIG }],
      [leaf(0), leaf(1), { canonical: leaf(2).canonical }],
      'three leaves',
    ];
    for (const leaves of pages) {
      answer = () => data({ leafRange: { leaves, proof: [] } });
      expect(await codeOf(client().leaves(0, 3, 3)), JSON.stringify(leaves).slice(0, 80)).toBe('PEER_MISBEHAVED');
    }
  });

  it('calls a page whose range proof is not a list of hex hashes misbehaviour', async () => {
    for (const proof of [[HASH.toUpperCase()], ['zz'.repeat(32)], [HASH.slice(2)], 'hashes', null]) {
      answer = () => data({ leafRange: { leaves: [leaf(0)], proof } });
      expect(await codeOf(client().leaves(0, 1, 1)), JSON.stringify(proof)).toBe('PEER_MISBEHAVED');
    }
  });

  it('calls a proof of anything but at most 128 hex hashes misbehaviour', async () => {
    for (const proof of [[HASH.toUpperCase()], [HASH.slice(2)], [`${HASH}00`], Array(129).fill(HASH), 'hashes', [1]]) {
      answer = () => data({ consistencyProof: { hashes: proof } });
      expect(await codeOf(client().consistency(1, 2)), JSON.stringify(proof).slice(0, 80)).toBe('PEER_MISBEHAVED');
    }
    answer = () => data({ consistencyProof: { hashes: Array(128).fill(HASH) } });
    expect(await client().consistency(1, 2)).toHaveLength(128);
  });

  it('calls a checkpoint without a note misbehaviour', async () => {
    answer = () => data({ syncCheckpoint: { note: 5 } });
    expect(await codeOf(client().checkpoint())).toBe('PEER_MISBEHAVED');
    answer = () => data({ syncCheckpoint: {} });
    expect(await codeOf(client().checkpoint())).toBe('PEER_MISBEHAVED');
  });

  it('takes a refusal as the peer being unavailable, even one that comes with data', async () => {
    answer = () => ({ body: JSON.stringify({ data: { syncCheckpoint: null }, errors: [{ message: 'no', extensions: { code: 'FORBIDDEN' } }] }) });
    await expect(client().checkpoint()).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', message: expect.stringMatching(/refused: FORBIDDEN: no/) });
    answer = () => ({ status: 502, body: '<html>bad gateway</html>' });
    await expect(client().checkpoint()).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', message: expect.stringMatching(/HTTP 502 with no JSON/) });
    answer = () => ({ body: '{}' });
    await expect(client().checkpoint()).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', message: expect.stringMatching(/without data/) });
    await expect(new PeerClient('http://127.0.0.1:9/graphql', 'puller.test/main', undefined, 2_000).checkpoint()).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
  });

  it('does not follow a redirect: its key and request go nowhere but the configured URL', async () => {
    seen = [];
    answer = () => data({ syncCheckpoint: null });
    const redirecting = createServer((req, res) => void res.writeHead(req.url === '/moved' ? 308 : 302, { location: url }).end());
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`;
    try {
      for (const [path, status] of [['/moved', 308], ['/found', 302]] as const) {
        await expect(new PeerClient(`${base}${path}`, 'puller.test/main', 'cpk_sync-key', 5_000).checkpoint()).rejects.toMatchObject({
          code: 'PEER_UNAVAILABLE',
          message: `peer ${base}${path} answered HTTP ${status}, a redirect to ${url}: configure the peer by the URL it answers at`,
        });
      }
      expect(seen).toEqual([]);
    } finally {
      await new Promise<void>((r) => redirecting.close(() => r()));
    }
  });

  it('takes a peer that stops answering, before or in the middle of its answer, as unavailable once its time is up', async () => {
    // One peer never answers; the other sends the start of an answer and then nothing more.
    const stalled = createServer((req, res) => {
      if (req.url === '/midway') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"data":{"syncCheckpoint":');
      }
    });
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`;
    try {
      for (const path of ['/silent', '/midway']) {
        const started = Date.now();
        await expect(new PeerClient(`${base}${path}`, 'puller.test/main', undefined, 300).checkpoint()).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
        expect(Date.now() - started).toBeLessThan(4_000);
      }
    } finally {
      stalled.closeAllConnections();
      await new Promise<void>((r) => stalled.close(() => r()));
    }
  });
});
