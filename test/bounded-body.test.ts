import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { boundedText } from '../src/bounded-body.js';
import { MAX_RESPONSE_BYTES, PeerClient } from '../src/sync/peer-client.js';

/** A server that streams `chunks` of 1 MiB without a Content-Length, counting what it got to send. */
async function streaming(chunks: number): Promise<{ url: string; sent: () => number; server: Server }> {
  let sent = 0;
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    let n = 0;
    const more = () => {
      while (n < chunks) {
        n++;
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('close', () => (n = chunks));
    more();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, sent: () => sent, server };
}

describe('answers from other servers are read only as far as their limit', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('a peer streaming an endless answer without Content-Length is refused once past the limit, not read to the end', async () => {
    const mib = 1024 * 1024;
    const peer = await streaming(400);
    server = peer.server;
    const client = new PeerClient(peer.url, 'http://self.invalid/graphql', undefined, 30_000);
    await expect(client.checkpoint()).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', message: expect.stringContaining('exceeds') });
    // The client stopped reading just past 64 MiB; what the server got into its socket buffers beyond that is bounded.
    expect(peer.sent()).toBeGreaterThan(MAX_RESPONSE_BYTES);
    expect(peer.sent()).toBeLessThan(MAX_RESPONSE_BYTES + 64 * mib);
  });

  it('a declared Content-Length over the limit is refused without reading; an answer within it is read whole', async () => {
    const small = new Response('{"a":"é"}');
    expect(await boundedText(small, 100)).toBe('{"a":"é"}');
    const declared = new Response('x'.repeat(10), { headers: { 'content-length': '1000' } });
    expect(await boundedText(declared, 100)).toBeUndefined();
    // Bytes, not characters: ten two-byte characters are twenty bytes.
    expect(await boundedText(new Response('é'.repeat(10)), 19)).toBeUndefined();
    expect(await boundedText(new Response('é'.repeat(10)), 20)).toBe('é'.repeat(10));
  });
});

describe('boundedText at its limit', () => {
  it('takes a declared Content-Length of exactly the limit, and refuses one byte more', async () => {
    const exact = new Response('x'.repeat(100), { headers: { 'content-length': '100' } });
    expect(await boundedText(exact, 100)).toBe('x'.repeat(100));
    const over = new Response('x'.repeat(100), { headers: { 'content-length': '101' } });
    expect(await boundedText(over, 100)).toBeUndefined();
  });
});
