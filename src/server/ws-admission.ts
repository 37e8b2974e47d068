import type { IncomingMessage } from 'node:http';
import type { VerifyClientCallbackAsync, WebSocketServer } from 'ws';
import { addressKey } from './client-address.js';
import { RATE_LIMITED_MESSAGE, type RateLimit } from './rate-limit.js';

/** Seconds a client refused for holding too many sockets is told to wait before it tries again. */
const FULL_RETRY_AFTER_S = 5;

/**
 * Which WebSocket handshakes the server takes. Each one draws on its address's request bucket,
 * as an HTTP request does, and an address may hold at most `maxPerIp` sockets at once (0: no
 * cap): a socket costs memory for as long as it is open, and without a cap one client could
 * open them until the process runs out. Refusals are HTTP 429 with Retry-After, before any
 * WebSocket exists, so graphql-ws clients back off and retry.
 *
 * The address is the TCP peer's, IPv6 by its /64 (addressKey): behind a proxy every client
 * shares the proxy's, so raise the cap there.
 */
export function admitWebSockets(wss: WebSocketServer, opts: { maxPerIp: number; rateLimit: RateLimit }): void {
  const open = new Map<string, number>();
  const ipOf = (req: IncomingMessage) => addressKey(req.socket.remoteAddress);
  const verify: VerifyClientCallbackAsync = ({ req }, admit) => {
    const ip = ipOf(req);
    if (opts.maxPerIp > 0 && (open.get(ip) ?? 0) >= opts.maxPerIp) {
      return admit(false, 429, `too many WebSocket connections from this address (at most ${opts.maxPerIp})`, { 'retry-after': String(FULL_RETRY_AFTER_S) });
    }
    const wait = opts.rateLimit(req.socket.remoteAddress, undefined);
    if (wait > 0) return admit(false, 429, RATE_LIMITED_MESSAGE, { 'retry-after': String(wait) });
    admit(true);
  };
  // Set after construction, as serveGraphqlWs sets handleProtocols: `ws` reads its options per handshake.
  wss.options.verifyClient = verify;
  // Counted from `connection`, not from the check: a handshake refused later (a bad protocol) never opens.
  wss.on('connection', (socket, req) => {
    const ip = ipOf(req);
    open.set(ip, (open.get(ip) ?? 0) + 1);
    socket.once('close', () => {
      const n = open.get(ip)! - 1;
      if (n === 0) open.delete(ip);
      else open.set(ip, n);
    });
  });
}
