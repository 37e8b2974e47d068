import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_RESPONSE_BYTES } from '../../src/sync/peer-client.js';
import type { TestLedger } from './ledger.js';

export interface ServedPeer {
  server: Server;
  /** The peer's GraphQL URL. */
  url: string;
  /** Each leafRange asked for, as [start, end). */
  asked: Array<[number, number]>;
}

/**
 * A peer's GraphQL API as a pulling node uses it (syncCheckpoint, consistencyProof, leafRange),
 * answered from `peer`'s `main` (a function: whichever ledger it names at each request). `beforeCheckpoint` and `beforeLeaves` may hold
 * a syncCheckpoint or leafRange answer back (or do something meanwhile); with
 * `padPages`, an answer of more than one leaf is padded past the client's bound, as a page of
 * large events would be (JSON takes the whitespace as nothing).
 */
export async function servePeer(from: TestLedger | (() => TestLedger), opts: { padPages?: boolean; beforeCheckpoint?: () => Promise<void>; beforeLeaves?: (start: number, end: number) => Promise<void> } = {}): Promise<ServedPeer> {
  const asked: Array<[number, number]> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', async () => {
      const { query, variables: v } = JSON.parse(body);
      if (query.includes('syncCheckpoint')) await opts.beforeCheckpoint?.();
      const peer = typeof from === 'function' ? from() : from;
      let data: unknown;
      let padding = 0;
      if (query.includes('syncCheckpoint')) data = { syncCheckpoint: { note: (await peer.service.syncCheckpoint('main'))!.note } };
      else if (query.includes('consistencyProof')) data = { consistencyProof: { hashes: (await peer.service.consistencyProof('main', v.f, v.t)).hashes } };
      else {
        asked.push([v.s, v.e]);
        await opts.beforeLeaves?.(v.s, v.e);
        const r = await peer.service.leafRange('main', v.s, v.e, v.n);
        const leaves = r.leaves.map((l) => ({ canonical: l.canonical.toString('base64'), signature: l.signature?.toString('hex') ?? null }));
        data = { leafRange: { leaves, proof: r.proof.map((h) => h.toString('hex')) } };
        if (opts.padPages && v.e - v.s > 1) padding = MAX_RESPONSE_BYTES;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data }) + ' '.repeat(padding));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, asked };
}
